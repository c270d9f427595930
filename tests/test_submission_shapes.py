"""Submissions in every shape: zip files, notebooks, Canvas and Moodle bulk downloads, Gradescope metadata."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import nbformat

from grader.classes import discover
from grader.notebooks import neutralise_ipython
from grader.submissions import load_submission

from conftest import CORPUS, DOT_POINTS, by_id, exercise, grade, grade_json

DOT = (CORPUS / "dot-product" / "correct_loop.py").read_text()
COS = (CORPUS / "cosine-similarity" / "correct_numpy.py").read_text()
WRONG_DOT = (CORPUS / "dot-product" / "elementwise-product.py").read_text()


def _zip(path: Path, members: dict[str, bytes], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_a_zip_per_student_is_graded_from_memory_without_extracting(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    _zip(subs / "ann.zip", {"hw1/similarity.py": DOT.encode(), "hw1/notes.txt": b"hello"})
    doc = grade_json(str(subs), "-e", "dot-product")
    result = exercise(by_id(doc)["ann"], "dot-product")
    assert result["status"] == "passed" and result["file"] == "similarity.py"
    assert sorted(p.name for p in subs.iterdir()) == ["ann.zip"]  # nothing was extracted


def test_hostile_zip_members_are_skipped_with_a_message_naming_the_file(tmp_path):
    path = _zip(tmp_path / "eve.zip", {"similarity.py": DOT.encode(), "../escape.py": b"x = 1",
                                        "/abs/evil.py": b"x = 1"}, links=("link.py",))
    sub = load_submission(path)
    assert [f.path for f in sub.files] == ["similarity.py"]
    assert any("'../escape.py' points outside the submission" in p for p in sub.problems)
    assert any("'/abs/evil.py' points outside the submission" in p for p in sub.problems)
    assert any("'link.py' is a link" in p for p in sub.problems)
    assert not (tmp_path.parent / "escape.py").exists()


def test_zip_members_that_a_folder_cannot_hold_together_are_skipped(tmp_path):
    # a zip may hold a.py and a.py/b.py, or the same name twice; a folder (the sandbox's) cannot
    import warnings

    path = tmp_path / "eve.zip"
    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name it writes anyway
        zf.writestr("a.py", DOT)
        zf.writestr("a.py/b.py", "x = 1\n")
        zf.writestr("a.py", "x = 2\n")
    sub = load_submission(path)
    assert [f.path for f in sub.files] == ["a.py"] and sub.files[0].data == DOT.encode()
    assert sum("clashes with 'a.py'; skipped" in p for p in sub.problems) == 2, sub.problems
    doc = grade_json(str(tmp_path), "-e", "dot-product")
    assert exercise(by_id(doc)["eve"], "dot-product")["status"] == "passed"


def test_a_decompression_bomb_is_stopped_at_the_budget(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("similarity.py", b"#" * 30_000_000)  # 30 MB of one byte: a few KB compressed
    assert path.stat().st_size < 200_000
    sub = load_submission(path)
    assert sub.files == () and any("unpacks to more than" in p for p in sub.problems)


def test_a_file_that_is_not_a_zip_gets_one_line(tmp_path):
    path = tmp_path / "bad.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    sub = load_submission(path)
    assert sub.files == () and sub.problems[0].startswith("bad.zip: not a readable zip file")


def _notebook(cells: list[str]) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Homework")] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["language_info"] = {"name": "python"}
    return nbformat.writes(nb).encode()


def test_a_notebook_is_graded_from_its_code_cells_with_magics_never_run(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    marker = tmp_path / "MAGIC-RAN"
    cells = ["%matplotlib inline\nimport numpy as np", f"!touch {marker}\nfiles = !ls", "%%bash\ntouch " + str(marker),
             "np?", DOT, "if True:\n    %time x = 1"]
    (subs / "nia.ipynb").write_bytes(_notebook(cells))
    doc = grade_json(str(subs), "-e", "dot-product")
    result = exercise(by_id(doc)["nia"], "dot-product")
    assert result["status"] == "passed", result
    assert result["file"] == "nia.ipynb"
    assert not marker.exists()


def test_neutralised_ipython_lines_keep_the_cell_valid_python():
    cell = "for i in range(3):\n    !echo $i\nx = %env HOME\nlen?\n%%capture would be ignored here"
    out = neutralise_ipython(cell)
    compile(out, "cell", "exec")
    assert "x = None" in out and "pass  # [grader: IPython not run] !echo $i" in out


def test_a_notebook_with_invalid_json_gets_a_clear_message(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "nell.ipynb").write_text('{"cells": [ oops')
    doc = grade_json(str(subs), "-e", "dot-product")
    result = exercise(by_id(doc)["nell"], "dot-product")
    assert result["status"] == "error"
    assert result["message"].startswith("nell.ipynb: not a valid Jupyter notebook")


def test_a_canvas_bulk_download_groups_files_per_student_and_records_late(tmp_path):
    subs = tmp_path / "canvas"
    subs.mkdir()
    files = {
        "doejane_5551_908877_similarity.py": DOT,
        "doejane_5551_908878_cosine.py": COS,
        "smithbob_LATE_6662_908879_similarity.py": WRONG_DOT,
        "smithbob_LATE_6662_908880_cosine.py": COS,
        "leeann_7773_908881_similarity.py": DOT,
        "leeann_7773_908882_helpers.py": "X = 1\n",
        "leeann_7773_text.html": "<p>see attached</p>",
    }
    for name, text in files.items():
        (subs / name).write_text(text)
    found = discover(subs)
    assert [s.id for s in found] == ["doejane_5551", "leeann_7773", "smithbob_6662"]
    bob = next(s for s in found if s.id == "smithbob_6662")
    assert bob.info["late"] is True and bob.info["lms_id"] == "6662"
    assert sorted(f.path for f in bob.files) == ["cosine.py", "similarity.py"]
    doc = grade_json(str(subs), "-e", "dot-product", "-e", "cosine-similarity")
    subs_by_id = by_id(doc)
    assert len(subs_by_id) == 3
    assert subs_by_id["doejane_5551"]["score"] == subs_by_id["doejane_5551"]["max_score"]
    assert "elementwise-product" in [m["id"] for m in exercise(subs_by_id["smithbob_6662"], "dot-product")["misconceptions"]]
    assert subs_by_id["smithbob_6662"]["student"]["late"] is True


def test_a_moodle_download_in_folders_is_one_submission_per_participant(tmp_path):
    subs = tmp_path / "moodle"
    (subs / "Jane Doe_1234_assignsubmission_file").mkdir(parents=True)
    (subs / "Jane Doe_1234_assignsubmission_file" / "similarity.py").write_text(DOT)
    (subs / "Jane Doe_1234_assignsubmission_onlinetext").mkdir()
    (subs / "Jane Doe_1234_assignsubmission_onlinetext" / "onlinetext.html").write_text("<p>hi</p>")
    (subs / "Bo Li_99_assignsubmission_file_similarity.py").write_text(WRONG_DOT)
    found = discover(subs)
    assert [(s.id, s.info["lms_id"], s.info["name"]) for s in found] == [
        ("bo-li_99", "99", "Bo Li"), ("jane-doe_1234", "1234", "Jane Doe")]
    doc = grade_json(str(subs), "-e", "dot-product")
    assert by_id(doc)["jane-doe_1234"]["score"] == DOT_POINTS


def test_gradescope_metadata_gives_identity_and_time(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "similarity.py").write_text(DOT)
    (tmp_path / "submission_metadata.json").write_text(json.dumps({  # beside submission/, as Gradescope lays it
        "id": 123, "created_at": "2026-11-20T10:00:00.000000-08:00",
        "users": [{"email": "ada@example.edu", "id": 4242, "name": "Ada Lovelace"}]}))
    proc = grade("check", str(sub), "-e", "dot-product", "--format", "json")
    doc = json.loads(proc.stdout)
    student = doc["submissions"][0]["student"]
    assert student == {"platform": "gradescope", "name": "Ada Lovelace", "lms_id": "4242",
                       "email": "ada@example.edu", "submitted_at": "2026-11-20T10:00:00.000000-08:00"}


def test_broken_gradescope_metadata_is_a_warning_not_a_crash(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "similarity.py").write_text(DOT)
    (tmp_path / "submission_metadata.json").write_text("{not json")
    proc = grade("check", str(sub), "-e", "dot-product", "--format", "json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["submissions"][0]["warnings"] == [
        "submission_metadata.json: not the expected JSON (JSONDecodeError); identity unknown"]


def test_metadata_inside_a_submission_is_the_student_s_and_gives_no_identity(tmp_path):
    """A student who uploads a metadata file naming someone else takes nobody's identity, in a
    class folder or on a platform."""
    forged = json.dumps({"users": [{"name": "Bob Builder", "id": "111", "email": "bob@x.edu"}]})
    for sub in (tmp_path / "class" / "mal", tmp_path / "submission"):
        sub.mkdir(parents=True)
        (sub / "similarity.py").write_text(DOT)
        (sub / "submission_metadata.json").write_text(forged)
    doc = grade_json(str(tmp_path / "class"), "-e", "dot-product")
    single = json.loads(grade("check", str(tmp_path / "submission"), "-e", "dot-product", "--format", "json").stdout)
    for result in (by_id(doc)["mal"], single["submissions"][0]):
        assert "111" not in json.dumps(result["student"]) and "Bob" not in json.dumps(result["student"])
        assert any("submission_metadata.json: ignored" in w for w in result["warnings"]), result["warnings"]
    # and the student hears of it where the platform shows them their result
    gradescope = json.loads(grade("check", str(tmp_path / "submission"), "-e", "dot-product",
                                  "--format", "gradescope").stdout)
    assert "submission\\_metadata.json: ignored" in gradescope["output"], gradescope["output"]


def test_io_of_a_zip_never_writes_beside_it(tmp_path):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("similarity.py", DOT)
    (tmp_path / "z.zip").write_bytes(data.getvalue())
    before = sorted(tmp_path.iterdir())
    load_submission(tmp_path / "z.zip")
    assert sorted(tmp_path.iterdir()) == before
