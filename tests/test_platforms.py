"""The platform packages, run the way each platform runs them: Gradescope's zip in a fake
/autograder, PrairieLearn's entrypoint in a fake /grade, the GitHub Classroom workflow step, and
the LMS exports from a real gradebook. Every output validates against the platform's schema."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import jsonschema
import yaml

from conftest import CORPUS, COSINE_POINTS, DOT_POINTS, EXAMPLES, EXERCISES, ROOT, grade

SCHEMAS = Path(__file__).parent / "schemas"
WRONG = EXAMPLES / "carla" / "similarity.py"  # the elementwise product for dot


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text())


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env.pop("GRADER_NO_DB", None)
    return env


def test_gradescope_zip_installs_and_grades_in_a_fake_autograder(tmp_path):
    out = tmp_path / "autograder.zip"
    built = grade("gradescope", str(EXERCISES), "-o", str(out), "-e", "dot-product", "-e", "cosine-similarity")
    assert built.returncode == 0, built.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert "setup.sh" in names and "run_autograder" in names  # at the root, as Gradescope requires
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)
    # setup.sh as Gradescope runs it; the test's own packages stand in for the download
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "test-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], capture_output=True, text=True, timeout=300,
                           env=_env(AUTOGRADER_ROOT=str(root), GRADER_PIP_ARGS="--no-deps --no-build-isolation"))
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert (root / "run_autograder").exists()

    (root / "submission").mkdir()
    shutil.copy(WRONG, root / "submission" / "similarity.py")
    (root / "submission_metadata.json").write_text(json.dumps(  # Gradescope writes it beside submission/
        {"id": 1, "created_at": "2026-11-24T10:00:00Z", "users": [{"email": "c@x.edu", "id": 7, "name": "Carla"}]}))
    run = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, capture_output=True, text=True,
                         timeout=300, env=_env(AUTOGRADER_ROOT=str(root)))
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, _schema("gradescope-results.schema.json"))
    assert "elementwise-product" in results["output"] and "9.08" in results["output"]
    assert any(t["visibility"] != "visible" for t in results["tests"])  # hidden checks stay hidden
    assert results["score"] < sum(t["max_score"] for t in results["tests"])
    assert results["extra_data"]["student"] == "c@x.edu"  # no roster id (sid): the e-mail

    # a roster id names the student (the quiz's numbers are drawn for it)
    (root / "submission_metadata.json").write_text(json.dumps(
        {"id": 2, "users": [{"email": "c@x.edu", "id": 7, "name": "Carla", "sid": "s-1042"}]}))
    subprocess.run(["bash", str(root / "run_autograder")], cwd=root, capture_output=True, timeout=300,
                   env=_env(AUTOGRADER_ROOT=str(root)), check=True)
    assert json.loads((root / "results" / "results.json").read_text())["extra_data"]["student"] == "s-1042"

    # a run that cannot grade still writes results.json, with grade's own reason
    shutil.rmtree(root / "source" / "course" / "exercises")
    broken = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, capture_output=True, text=True,
                            timeout=300, env=_env(AUTOGRADER_ROOT=str(root)))
    assert broken.returncode == 0, broken.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, _schema("gradescope-results.schema.json"))
    assert results["score"] == 0 and "could not grade this submission: grade: error: " in results["output"], results
    assert "exercises" in results["output"] and "Traceback" not in results["output"]


def _prairielearn(tmp_path: Path, exercises: Path, submission: Path) -> tuple[subprocess.CompletedProcess, dict]:
    root = tmp_path / "grade"
    (root / "student").mkdir(parents=True)
    shutil.copy(submission, root / "student" / "similarity.py")
    proc = subprocess.run(["bash", str(ROOT / "grader" / "platforms" / "prairielearn_run.sh")], capture_output=True,
                          text=True, timeout=300, env=_env(PL_GRADE_ROOT=str(root), GRADER_EXERCISES=str(exercises),
                                                           GRADER_COMMAND=shutil.which("grade"),
                                                           GRADER_EXERCISE="dot-product"))
    return proc, json.loads((root / "results" / "results.json").read_text())


def test_prairielearn_entrypoint_writes_gradable_results_and_exits_0(tmp_path):
    proc, results = _prairielearn(tmp_path, EXERCISES, WRONG)
    assert proc.returncode == 0, proc.stderr
    jsonschema.validate(results, _schema("prairielearn-results.schema.json"))
    assert results["gradable"] is True and 0 <= results["score"] < 1
    assert "elementwise-product" in json.dumps(results)


def test_prairielearn_entrypoint_reports_an_ungradable_run_and_still_exits_0(tmp_path):
    proc, results = _prairielearn(tmp_path, tmp_path / "no-such-exercises", WRONG)
    assert proc.returncode == 0
    jsonschema.validate(results, _schema("prairielearn-results.schema.json"))
    assert results["gradable"] is False
    # the reason, not only an exit status: grade's own one-line error names the missing folder
    assert results["format_errors"][0].startswith("the grader could not run: grade: error: ")
    assert "no-such-exercises" in results["format_errors"][0], results


def test_github_classroom_workflow_step_produces_the_reporter_input(tmp_path):
    workflow = yaml.safe_load((ROOT / "docs" / "github-classroom.yml").read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    grade_step = next(s for s in steps if s.get("id") == "grader")
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["with"]["runners"] == "grader" and "steps.grader.outputs.result" in reporter["env"]["GRADER_RESULTS"]
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(WRONG, repo / "similarity.py")
    output = tmp_path / "github_output"
    bin_dir = tmp_path / "bin"  # `grade` as the workflow finds it, limited to one exercise for speed
    bin_dir.mkdir()
    (bin_dir / "grade").write_text(f'#!/bin/sh\nexec {shutil.which("grade")} "$@" -e dot-product\n')
    (bin_dir / "grade").chmod(0o755)
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')  # the runner's passwordless sudo; the tests run as root
    (bin_dir / "sudo").chmod(0o755)
    env = _env(GITHUB_OUTPUT=str(output), PATH=f"{bin_dir}:{os.environ['PATH']}")
    subprocess.run(["bash", "-e", "-c", grade_step["run"]], cwd=repo, env=env, check=True, timeout=300)
    line = output.read_text().strip()
    assert line.startswith("result=")
    result = json.loads(base64.b64decode(line[len("result="):]))
    jsonschema.validate(result, _schema("github-classroom-result.schema.json"))
    assert result["status"] == "fail" and result["max_score"] > 0


def test_github_classroom_step_reports_why_when_the_grader_cannot_run(tmp_path):
    """A grader that stops before writing its result (here: refused, exit 2) still gives the
    reporter a result that says why, never an empty output."""
    workflow = yaml.safe_load((ROOT / "docs" / "github-classroom.yml").read_text())
    grade_step = next(s for s in workflow["jobs"]["run-autograding-tests"]["steps"] if s.get("id") == "grader")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "grade").write_text("#!/bin/sh\necho 'grade: error: sandboxes cannot be isolated on this machine' >&2\nexit 2\n")
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for tool in ("grade", "sudo"):
        (bin_dir / tool).chmod(0o755)
    output = tmp_path / "github_output"
    env = _env(GITHUB_OUTPUT=str(output), PATH=f"{bin_dir}:{os.environ['PATH']}")
    subprocess.run(["bash", "-e", "-c", grade_step["run"]], cwd=tmp_path, env=env, check=True, timeout=60)
    result = json.loads(base64.b64decode(output.read_text().strip()[len("result="):]))
    jsonschema.validate(result, _schema("github-classroom-result.schema.json"))
    assert result["status"] == "error"
    assert result["tests"][0]["message"] == "The grader could not run: grade: error: sandboxes cannot be isolated on this machine"


def _canvas_class(tmp_path: Path) -> Path:
    subs = tmp_path / "canvas"
    subs.mkdir()
    dot = (CORPUS / "dot-product" / "correct_loop.py").read_text()
    cos = (CORPUS / "cosine-similarity" / "correct_numpy.py").read_text()
    for name, uid, first in (("doejane", 5551, dot), ("smithbob_LATE", 6662, WRONG.read_text()), ("leeann", 7773, dot)):
        (subs / f"{name}_{uid}_{uid}1_similarity.py").write_text(first)
        (subs / f"{name}_{uid}_{uid}2_cosine.py").write_text(cos)
    return subs


def test_canvas_bulk_download_grades_as_three_and_exports_a_csv_canvas_imports(tmp_path):
    subs = _canvas_class(tmp_path)
    db = tmp_path / "gb.sqlite"
    graded = grade(str(subs), "-e", "dot-product", "-e", "cosine-similarity", "--db", str(db))
    assert graded.returncode == 0 and graded.stdout.count("\n") >= 3
    out = tmp_path / "canvas.csv"
    exported = grade("export", "--db", str(db), "--format", "canvas", "--assignment", "Similarity",
                     "--assignment-id", "1234", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.reader(io.StringIO(out.read_text())))
    header = rows[0]
    assert "Student" in header[0] and header[1] == "ID"
    section = header.index("Section")
    assert all(h in ("SIS User ID", "SIS Login ID") for h in header[2:section])
    assert [h for h in header[section + 1:]] == ["Similarity (1234)"]
    assert re.search(r"\(\d+\)$", header[-1])
    assert "Points Possible" in rows[1][0] and float(rows[1][-1]) == DOT_POINTS + COSINE_POINTS
    students = {r[1]: r for r in rows[2:]}
    assert set(students) == {"5551", "6662", "7773"}  # Canvas user ids: how Canvas matches students
    assert float(students["5551"][-1]) == DOT_POINTS + COSINE_POINTS and float(students["6662"][-1]) < DOT_POINTS + COSINE_POINTS


def test_moodle_and_plain_exports(tmp_path):
    subs = tmp_path / "moodle"
    (subs / "Jane Doe_1234_assignsubmission_file").mkdir(parents=True)
    shutil.copy(WRONG, subs / "Jane Doe_1234_assignsubmission_file" / "similarity.py")
    db = tmp_path / "gb.sqlite"
    assert grade(str(subs), "-e", "dot-product", "--db", str(db)).returncode == 0
    moodle = grade("export", "--db", str(db), "--format", "moodle", "--max-grade", "100")
    rows = list(csv.DictReader(io.StringIO(moodle.stdout)))
    assert rows[0]["Identifier"] == "Participant 1234" and rows[0]["Full name"] == "Jane Doe"
    assert float(rows[0]["Grade"]) == round(100 * 5 / DOT_POINTS, 2) and "Last modified (grade)" in rows[0]
    plain = grade("export", "--db", str(db), "--format", "csv")
    assert plain.returncode == 0 and "jane-doe_1234" in plain.stdout


def test_per_submission_formats_are_refused_for_a_class():
    proc = grade(str(EXAMPLES), "--format", "gradescope")
    assert proc.returncode == 2 and "use `grade check PATH --format gradescope`" in proc.stderr
