"""What a course platform hands the teacher, graded as it comes: a Canvas "Download Submissions"
zip (LATE, resubmitted files renamed `-1`/`-2`, a student's own zip inside, text and link
entries), a Moodle download as folders and as a zip, and class zips that are not what they claim."""

from __future__ import annotations

import io
import json
import random
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from grader.classes import MAX_CLASS_ZIP_BYTES, discover
from grader.submissions import MAX_FILE_BYTES

from conftest import CORPUS, COSINE_POINTS, DOT_POINTS, EXAMPLES, by_id, exercise, grade, grade_json

SIMILARITY = (EXAMPLES / "ada" / "similarity.py").read_bytes()  # `from vec_helpers import …`
HELPERS = (EXAMPLES / "ada" / "vec_helpers.py").read_bytes()
BROKEN_HELPERS = b"def multiply_and_add(a, b):\n    return 0.0\n\n\ndef length(v):\n    return 1.0\n"
DOT = (CORPUS / "dot-product" / "correct_loop.py").read_bytes()
COS = (CORPUS / "cosine-similarity" / "correct_numpy.py").read_bytes()
WRONG_DOT = (CORPUS / "dot-product" / "elementwise-product.py").read_bytes()
EXERCISES = ("-e", "dot-product", "-e", "cosine-similarity")
FULL = DOT_POINTS + COSINE_POINTS


def _zip_bytes(members: list[tuple[str, bytes]], links: tuple[str, ...] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return out.getvalue()


def _write_zip(path: Path, members: list[tuple[str, bytes]], links: tuple[str, ...] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_zip_bytes(members, links))
    return path


# Canvas "Download Submissions": <lastfirst>_[LATE_]<user id>_<attachment id>_<file name>
CANVAS = [
    # Ada uploaded her helpers again: Canvas renamed the new upload vec_helpers-1.py
    ("lovelaceada_5551_908877_similarity.py", SIMILARITY),
    ("lovelaceada_5551_908990_vec_helpers-1.py", HELPERS),
    # Grace, late, uploaded her helpers three times; only the last is right
    ("hoppergrace_LATE_6662_908879_similarity.py", SIMILARITY),
    ("hoppergrace_LATE_6662_908880_vec_helpers.py", BROKEN_HELPERS),
    ("hoppergrace_LATE_6662_909001_vec_helpers-1.py", BROKEN_HELPERS),
    ("hoppergrace_LATE_6662_909002_vec_helpers-2.py", HELPERS),
    # Alan uploaded a zip of his folder: Canvas keeps it as one member
    ("turingalan_7773_908881_hw3.zip", _zip_bytes([("hw3/similarity.py", DOT + b"\n\n" + COS)])),
    # Emmy answered in a text entry, Marie (late) with a link: nothing to run
    ("noetheremmy_8884_text.html", b"<p>I think the answer is 3</p>"),
    ("curiemarie_LATE_9995_link.html", b'<a href="https://example.edu/notebook">mine</a>'),
]
CANVAS_IDS = ["curiemarie_9995", "hoppergrace_6662", "lovelaceada_5551", "noetheremmy_8884", "turingalan_7773"]


def test_a_canvas_download_zip_is_graded_as_the_class_it_holds(tmp_path):
    download = _write_zip(tmp_path / "CS101-Week_3_submissions.zip", CANVAS)
    doc = grade_json(str(download), *EXERCISES)
    subs = by_id(doc)
    assert sorted(subs) == CANVAS_IDS
    assert subs["lovelaceada_5551"]["student"] == {"name": "lovelaceada", "lms_id": "5551", "late": False,
                                                   "platform": "canvas", "attachment_id": "908990"}
    assert subs["hoppergrace_6662"]["student"]["late"] is True
    assert subs["curiemarie_9995"]["student"] == {"name": "curiemarie", "lms_id": "9995", "late": True,
                                                  "platform": "canvas"}
    # the resubmitted helper is imported by its own name: full marks, not 0
    for sid in ("lovelaceada_5551", "hoppergrace_6662", "turingalan_7773"):
        assert subs[sid]["score"] == FULL, (sid, subs[sid])
    assert exercise(subs["lovelaceada_5551"], "dot-product")["file"] == "similarity.py"
    assert any("hoppergrace_LATE_6662_908880_vec_helpers.py: an earlier upload of vec_helpers.py; the latest "
               "(hoppergrace_LATE_6662_909002_vec_helpers-2.py) is graded" == w
               for w in subs["hoppergrace_6662"]["warnings"]), subs["hoppergrace_6662"]["warnings"]
    for sid, entry in (("noetheremmy_8884", "noetheremmy_8884_text.html"),
                       ("curiemarie_9995", "curiemarie_LATE_9995_link.html")):
        assert subs[sid]["score"] == 0
        assert subs[sid]["warnings"] == [f"{entry}: a text or link entry, with no file to run"]
    assert subs["lovelaceada_5551"]["path"] == f"{download}/lovelaceada_5551"
    assert sorted(p.name for p in tmp_path.iterdir()) == [download.name]  # read in memory, nothing extracted


def test_the_same_download_extracted_into_a_folder_is_the_same_class(tmp_path):
    download = _write_zip(tmp_path / "week3.zip", CANVAS)
    folder = tmp_path / "week3"
    folder.mkdir()
    for name, data in CANVAS:
        (folder / name).write_bytes(data)

    def summary(path: Path) -> list[tuple[str, dict, dict, tuple]]:
        return [(s.id, s.info, s.file_map(), s.problems) for s in discover(path)]

    assert summary(download) == summary(folder)


MOODLE = [
    ("Ada Lovelace_101_assignsubmission_file/similarity.py", SIMILARITY),
    ("Ada Lovelace_101_assignsubmission_file/vec_helpers.py", HELPERS),
    ("Grace Hopper_102_assignsubmission_file/week3/similarity.py", WRONG_DOT + b"\n\n" + COS),
    ("Grace Hopper_102_assignsubmission_onlinetext/onlinetext.html", b"<p>see my file</p>"),
    ("Emmy Noether_103_assignsubmission_onlinetext/onlinetext.html", b"<p>no code, sorry</p>"),
]


def test_a_moodle_download_grades_the_same_as_folders_and_as_a_zip(tmp_path):
    folders = tmp_path / "folders"
    for name, data in MOODLE:
        (folders / name).parent.mkdir(parents=True, exist_ok=True)
        (folders / name).write_bytes(data)
    download = _write_zip(tmp_path / "zip" / "CS101-Week 3-42.zip", MOODLE)
    results = []
    for where in (folders, download):
        subs = by_id(grade_json(str(where), *EXERCISES))
        assert sorted(subs) == ["ada-lovelace_101", "emmy-noether_103", "grace-hopper_102"]
        assert subs["ada-lovelace_101"]["student"] == {"name": "Ada Lovelace", "lms_id": "101", "platform": "moodle"}
        assert subs["ada-lovelace_101"]["score"] == FULL
        assert "elementwise-product" in [m["id"] for m in exercise(subs["grace-hopper_102"], "dot-product")["misconceptions"]]
        assert subs["emmy-noether_103"]["score"] == 0
        results.append({sid: (s["score"], s["student"], [e["status"] for e in s["exercises"]]) for sid, s in subs.items()})
    assert results[0] == results[1]


def test_a_download_saved_in_the_class_folder_is_graded_as_its_students(tmp_path):
    """A zip of Canvas-named files alone in a class folder holds a class, not one student with their files mixed."""
    folder = tmp_path / "week3"
    _write_zip(folder / "CS101-Week_3_submissions.zip", CANVAS)
    subs = by_id(grade_json(str(folder), *EXERCISES))
    assert sorted(subs) == sorted(CANVAS_IDS)
    assert subs["lovelaceada_5551"]["score"] == FULL
    assert subs["turingalan_7773"]["path"] == f"{folder}/CS101-Week_3_submissions.zip/turingalan_7773"


def test_a_zip_beside_other_students_is_one_student_s_whatever_its_members_are_named(tmp_path):
    """Beside bob.py a zip is a student's upload: members named as a download would name other
    students' files never make up students (they would carry platform ids into the exports)."""
    folder = tmp_path / "week3"
    _write_zip(folder / "mallory.zip", CANVAS)
    (folder / "bob.py").write_bytes(DOT + b"\n\n" + COS)
    subs = by_id(grade_json(str(folder), *EXERCISES))
    assert sorted(subs) == ["bob", "mallory"]
    assert any(w.startswith("mallory.zip holds the files of") for w in subs["mallory"]["warnings"]), subs["mallory"]
    assert subs["bob"]["score"] == FULL and subs["mallory"]["student"] == {}


def test_a_student_s_own_zip_in_an_unpacked_download_never_makes_students(tmp_path):
    """Eve uploads a zip of files named as Canvas names other students' files: they stay hers."""
    folder = tmp_path / "week3"
    folder.mkdir()
    for name, data in CANVAS[:2]:
        (folder / name).write_bytes(data)
    forged = _zip_bytes([("lovelaceada_5551_999999_similarity.py", WRONG_DOT), ("mallorymal_1234_1_similarity.py", DOT)])
    (folder / "spoofereve_4242_909090_hw.zip").write_bytes(forged)
    found = {s.id: s for s in discover(folder)}
    assert sorted(found) == ["lovelaceada_5551", "spoofereve_4242"]
    assert found["lovelaceada_5551"].file_map() == {"similarity.py": SIMILARITY, "vec_helpers.py": HELPERS}
    assert sorted(found["spoofereve_4242"].file_map()) == ["lovelaceada_5551_999999_similarity.py",
                                                           "mallorymal_1234_1_similarity.py"]


def test_a_student_that_holds_several_students_downloads_is_graded_with_a_warning(tmp_path):
    folder = tmp_path / "week3"
    (folder / "canvas").mkdir(parents=True)  # the download unpacked one level too deep
    for name, data in CANVAS[:6]:
        (folder / "canvas" / name).write_bytes(data)
    (folder / "bob.py").write_bytes(DOT)
    # and a zip whose two folders each hold a different student's files
    _write_zip(folder / "mixed.zip", [("a/lovelaceada_5551_1_similarity.py", DOT),
                                      ("b/Bo Li_99_assignsubmission_file/similarity.py", DOT)])
    subs = by_id(grade_json(str(folder), "-e", "dot-product"))
    assert sorted(subs) == ["bob", "canvas", "mixed"]
    assert "canvas holds the files of 2 students of a Canvas download (hoppergrace_6662, lovelaceada_5551); " \
           "they are graded here as one student: grade canvas itself as the class" in subs["canvas"]["warnings"]
    assert any(w.startswith("mixed.zip holds the files of 2 students of a Canvas and Moodle download")
               for w in subs["mixed"]["warnings"]), subs["mixed"]["warnings"]
    assert subs["bob"]["warnings"] == []
    assert sorted(by_id(grade_json(str(folder / "canvas"), "-e", "dot-product"))) == ["hoppergrace_6662",
                                                                                     "lovelaceada_5551"]


@pytest.mark.parametrize(("member", "link", "says"), [
    ("/etc/cron.d/evil.py", False, "points outside the archive"),
    ("../../evil.py", False, "points outside the archive"),
    ("lovelaceada_5551_1/../../evil.py", False, "points outside the archive"),
    ("C:/Windows/evil.py", False, "points outside the archive"),
    ("lovelaceada_5551_908999_helpers.py", True, "is a link"),
])
def test_a_hostile_class_zip_is_refused_in_one_line_naming_the_member(tmp_path, member, link, says):
    download = _write_zip(tmp_path / "class.zip", [*CANVAS, *([] if link else [(member, DOT)])],
                          links=(member,) if link else ())
    proc = grade(str(download), *EXERCISES)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""
    assert proc.stderr.startswith(f"grade: error: {download}: member '{member}' {says}"), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class.zip"]


def test_a_class_zip_that_would_unpack_to_too_much_is_refused_before_anything_is_read(tmp_path):
    many = MAX_CLASS_ZIP_BYTES // MAX_FILE_BYTES + 1  # each as large as one file may be: together too much
    members = [(f"student{i}_{i}_{i}_similarity.py", b"#" * MAX_FILE_BYTES) for i in range(many)]
    download = _write_zip(tmp_path / "class.zip", members)
    assert download.stat().st_size < 5_000_000
    proc = grade(str(download), "-e", "dot-product")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    last = members[-1][0]
    assert proc.stderr.strip() == (f"grade: error: {download}: member '{last}' brings what the archive unpacks to "
                                   f"over {MAX_CLASS_ZIP_BYTES} bytes; nothing in it is graded")


def test_a_bomb_in_one_student_s_files_is_never_unpacked_and_the_class_is_graded(tmp_path):
    bomb = b"\0" * 60_000_000  # a few tens of KB compressed
    own = io.BytesIO()  # his own zip: a way out, a link, then a bomb
    with zipfile.ZipFile(own, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("similarity.py", DOT + b"\n\n" + COS)
        zf.writestr("../../escape.py", b"x = 1\n")
        link = zipfile.ZipInfo("helpers.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("data.py", bomb)
    own_zip = own.getvalue()
    members = [*CANVAS[:2],
               ("bombereve_4444_1_similarity.py", bomb),
               ("zippedzed_5555_2_hw.zip", own_zip)]
    download = _write_zip(tmp_path / "class.zip", members)
    assert download.stat().st_size < 1_000_000
    subs = by_id(grade_json(str(download), *EXERCISES))
    assert subs["lovelaceada_5551"]["score"] == FULL
    eve = exercise(subs["bombereve_4444"], "dot-product")
    assert eve["status"] == "error" and eve["message"] == (
        "class.zip: member 'bombereve_4444_1_similarity.py' unpacks to 60000000 bytes; at most 1000000 are read")
    zed = subs["zippedzed_5555"]
    assert zed["score"] == FULL  # his own zip's bad members are skipped, each named; the rest is graded
    assert "zippedzed_5555_2_hw.zip: member '../../escape.py' points outside the submission; skipped" in zed["warnings"]
    assert "zippedzed_5555_2_hw.zip: member 'helpers.py' is a link; skipped" in zed["warnings"]
    assert any(w.startswith("zippedzed_5555_2_hw.zip: member 'data.py' unpacks to more than") for w in zed["warnings"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class.zip"]


def test_a_class_zip_resumes_where_it_stopped_and_regrades_only_who_changed(tmp_path):
    download = _write_zip(tmp_path / "class.zip", CANVAS)
    db = tmp_path / "gradebook.sqlite"
    first = grade(str(download), *EXERCISES, "--db", str(db))
    assert first.returncode == 0, first.stderr
    again = grade(str(download), *EXERCISES, "--db", str(db))
    assert f"{len(CANVAS_IDS)} submissions unchanged" in again.stderr and again.stdout == first.stdout
    # Ada uploads her helpers once more, wrong this time; the teacher downloads the class again
    _write_zip(download, [*CANVAS, ("lovelaceada_5551_911111_vec_helpers-2.py", BROKEN_HELPERS)])
    third = grade(str(download), *EXERCISES, "--db", str(db), "--format", "json")
    assert f"{len(CANVAS_IDS) - 1} submissions unchanged" in third.stderr
    assert by_id(json.loads(third.stdout))["lovelaceada_5551"]["score"] < FULL


def test_a_file_that_is_neither_a_folder_nor_a_zip_is_refused(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    proc = grade(str(notes), "-e", "dot-product")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"grade: error: {notes}: not a folder of submissions, nor a .zip a course platform downloads"


_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,11}", fullmatch=True)
_MODULES = st.from_regex(r"[a-z][a-z_]{0,9}", fullmatch=True).filter(lambda m: m != "similarity")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_NAMES, uid=st.integers(1, 10**12), module=_MODULES, late=st.booleans(),
       versions=st.lists(st.integers(0, 30), min_size=1, max_size=5, unique=True), seed=st.integers(0, 2**32))
@example(name="doejane", uid=5551, module="vec_helpers", late=False, versions=[1], seed=0)
@example(name="doejane", uid=5551, module="vec_helpers", late=True, versions=[0, 2, 1, 10], seed=1)
def test_canvas_resubmissions_get_their_own_name_back_and_the_latest_wins(tmp_path, name, uid, module, late,
                                                                          versions, seed):
    prefix = f"{name}_{'LATE_' if late else ''}{uid}"
    members = [(f"{prefix}_100_similarity.py", b"import " + module.encode() + b"\n")]
    # Canvas renames the N-th upload again of a name <stem>-N; a later upload has a larger attachment id
    members += [(f"{prefix}_{1000 + n}_{module}{f'-{n}' if n else ''}.py", f"VERSION = {n}\n".encode())
                for n in versions]
    other = "zz" + name  # a neighbour whose files must stay his
    members += [(f"{other}_7_1_{module}-40.py", b"VERSION = 'other'\n"), (f"{other}_7_2_similarity.py", b"x = 1\n")]
    random.Random(seed).shuffle(members)
    download = tmp_path / f"class-{seed}.zip"
    download.write_bytes(_zip_bytes(members))
    found = {s.id: s for s in discover(download)}
    assert sorted(found) == sorted([f"{name}_{uid}", f"{other}_7"])
    student = found[f"{name}_{uid}"]
    assert student.file_map() == {"similarity.py": members_of(members, f"{prefix}_100_similarity.py"),
                                  f"{module}.py": f"VERSION = {max(versions)}\n".encode()}
    assert student.info == {"name": name, "lms_id": str(uid), "late": late, "platform": "canvas",
                            "attachment_id": str(1000 + max(versions))}  # the latest upload
    assert len(student.problems) == len(versions) - 1  # each older upload is named, once
    assert found[f"{other}_7"].file_map()[f"{module}.py"] == b"VERSION = 'other'\n"


def members_of(members: list[tuple[str, bytes]], name: str) -> bytes:
    return next(data for member, data in members if member == name)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(CANVAS))))
def test_the_order_of_a_download_s_members_changes_nobody_s_submission(tmp_path, order):
    download = tmp_path / "class.zip"
    download.write_bytes(_zip_bytes([CANVAS[i] for i in order]))
    got = [(s.id, s.info, s.file_map(), sorted(s.problems)) for s in discover(download)]
    download.write_bytes(_zip_bytes(CANVAS))
    assert got == [(s.id, s.info, s.file_map(), sorted(s.problems)) for s in discover(download)]


def test_feedback_files_of_a_canvas_download_are_named_for_its_re_upload(tmp_path):
    """Canvas's Re-Upload Submissions attaches a file to the student whose user id and current
    submission file id open its name: each feedback file names the student's latest upload."""
    download = _write_zip(tmp_path / "submissions.zip", CANVAS[:6])
    proc = grade(str(download), *EXERCISES, "--feedback-dir", str(tmp_path / "feedback"), "--no-db")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "feedback").glob("*.md"))  # beside them: HTML pages, index.html
    assert names == ["hoppergrace_6662_909002_feedback.md", "lovelaceada_5551_908990_feedback.md"], names
