"""The course stays out of every sandbox's sight however grader is installed.

Each install mode gets a virtual environment of its own, built once per module from a copy of
this working tree: an editable install (its venv inside the checkout, as `.venv`), a wheel and an
sdist, plus a course loaded with `--exercises` from inside the Python installation, its solution
and checks in other folders. Every one of them leaves copies of the reference where a sandbox
looks (site-packages/grader/course, bytecode caches, the running interpreter's own install).
A student who reads or imports the reference from every place it lies on the host, and who
searches the whole filesystem for it, gets nothing and no points; the correct neighbour keeps
full marks. A course file that no mount could hide makes `grade` refuse, with one line.

The venvs have no network to install grader's dependencies from: each holds a .pth naming the
site folders of the interpreter running the tests (where `pip install -e '.[test]'` put numpy,
pytest, hatchling...), and grader itself is installed with --no-deps --no-index
--no-build-isolation, built by that hatchling.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader import hidden
from grader.course import load_exercise
from grader.errors import GraderError
from grader.submissions import Submission

from conftest import CORPUS, ROOT, by_id, exercise

as_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                             reason="hiding the course needs the sandbox's private filesystem, which needs root")

# One name per course file kind, found in a solution's source and its bytecode alike.
MARKERS = {"dot-product": "sum_of_all_elements", "cosine-similarity": "one_sided_normalization_a"}
CHECKS_MARKER = "test_scale_invariance"  # from checks/cosine_similarity.py

# The attacker: reads every place the reference is known to lie, walks the whole filesystem for
# course files by name, then runs the first reference it could load. It also says whether the
# Python installation is still there for it (a hidden venv would break student code).
THIEF = '''
import importlib.machinery
import importlib.util
import os
import sys

KNOWN = __KNOWN__
NAMES = __NAMES__
MARKERS = __MARKERS__
FUNCTION = __FUNCTION__
print("PREFIX", os.path.isdir(os.path.join(sys.prefix, "lib")), flush=True)
try:
    import numpy.polynomial  # not preloaded by the zygote: read from the installation now
    print("NUMPY ok", flush=True)
except Exception as e:
    print("NUMPY failed", type(e).__name__, e, flush=True)


def leaks(path):
    try:
        with open(path, "rb") as f:
            data = f.read(1_000_000)
    except OSError:
        return False
    return any(m.encode() in data for m in MARKERS)


found = [p for p in KNOWN if leaks(p)]
walked = 0
for folder, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(folder, d) not in ("/proc", "/sys", "/dev")]
    walked += len(files)
    found += [os.path.join(folder, n) for n in files if n.split(".")[0] in NAMES and leaks(os.path.join(folder, n))]
for path in sorted(set(found)):
    print("FOUND", path, flush=True)
print("WALKED", walked, flush=True)


def load(path):
    cls = importlib.machinery.SourcelessFileLoader if path.endswith(".pyc") else importlib.machinery.SourceFileLoader
    loader = cls("stolen", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("stolen", loader))
    loader.exec_module(module)
    return getattr(module, FUNCTION)


stolen = None
for path in found:
    try:
        stolen = load(path)
        print("STOLEN", path, flush=True)
        break
    except Exception:
        continue


def FUNCTION_NAME(a, b):
    return stolen(a, b) if stolen else 0.0
'''


@dataclass
class Install:
    mode: str
    python: Path
    site: Path  # the venv's site-packages
    checkout: Path


def _run(*cmd: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "PIP_CONSTRAINT")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", GRADER_NO_DB="1")
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    return proc


def _checked(*cmd: object, cwd: Path | None = None) -> str:
    proc = _run(*cmd, cwd=cwd)
    assert proc.returncode == 0, f"{cmd}: {proc.stderr[-3000:]}"
    return proc.stdout


def _venv(path: Path) -> tuple[Path, Path]:
    """A venv without pip whose dependencies are those of the interpreter running the tests."""
    _checked(sys.executable, "-m", "venv", "--without-pip", path)
    python = path / "bin" / "python"
    sp = Path(_checked(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (sp / "_test_deps.pth").write_text("".join(f"{p}\n" for p in site.getsitepackages()))
    return python, sp


def _pip_install(python: Path, *target: object) -> None:
    _checked(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index",
             "--no-build-isolation", "--no-cache-dir", *target)


@pytest.fixture(scope="module")
def installs(tmp_path_factory: pytest.TempPathFactory):
    """Each install mode in a venv of its own, outside /tmp, and a wheel
    installed in a venv under /tmp."""
    base = Path(tempfile.mkdtemp(prefix="grader-installs-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    try:
        yield _build_installs(base, tmp_path_factory.mktemp("installs-under-tmp"))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _build_installs(base: Path, under_tmp: Path) -> dict[str, Install]:
    checkout = base / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("grader", "exercises", "solutions", "checks"):
        shutil.copytree(ROOT / folder, checkout / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, checkout / name)
    dist = base / "dist"
    _checked(sys.executable, "-c", "import sys; from hatchling.build import build_wheel, build_sdist; "
             "build_wheel(sys.argv[1]); build_sdist(sys.argv[1])", dist, cwd=checkout)
    out = {}
    for mode, where, target in (("editable", checkout / ".venv", ("-e", checkout)),
                                ("wheel", base / "wheel-venv", tuple(dist.glob("*.whl"))),
                                ("sdist", base / "sdist-venv", tuple(dist.glob("*.tar.gz"))),
                                ("wheel-under-tmp", under_tmp / "venv", tuple(dist.glob("*.whl")))):
        python, sp = _venv(where)
        _pip_install(python, *target)
        out[mode] = Install(mode, python, sp, checkout)
    return out


def _reference_copies(install: Install, stem: str) -> list[Path]:
    """Every place of the host where this install's reference solution lies."""
    here = [sp / "grader" / "course" / "solutions" for sp in (install.site, *map(Path, site.getsitepackages()))]
    folders = [*here, install.checkout / "solutions", ROOT / "solutions"]
    return [f / name for f in folders for name in (f"{stem}.py", f"__pycache__/{stem}.cpython-{sys.version_info[0]}{sys.version_info[1]}.pyc")]


def _thief(known: list[Path], names: list[str], markers: list[str], function: str) -> str:
    source = THIEF
    for key, value in (("KNOWN", [str(p) for p in known]), ("NAMES", names), ("MARKERS", markers), ("FUNCTION", function)):
        source = source.replace(f"__{key}__", repr(value))
    return textwrap.dedent(source).replace("FUNCTION_NAME", function)


@dataclass
class Graded:
    proc: subprocess.CompletedProcess
    doc: dict
    ex_id: str
    under_tmp: bool  # the venv lies under /tmp

    def ex(self, sid: str) -> dict:
        return exercise(by_id(self.doc)[sid], self.ex_id)

    def stdout(self, sid: str) -> str:
        return by_id(self.doc)[sid]["output"]["stdout"]


def _grade_class(python: Path, folder: Path, ex_id: str, function: str, thief: str, *args: object) -> Graded:
    """Grade bob (correct), the thief and a student who answers 0.0 to everything."""
    subs = folder / "subs"
    subs.mkdir(parents=True)
    (subs / "bob.py").write_text((CORPUS / ex_id / "correct_loop.py").read_text())
    (subs / "a-thief.py").write_text(thief)
    (subs / "a-zero.py").write_text(f"def {function}(a, b):\n    return 0.0\n")
    proc = _run(python, "-m", "grader", subs, "-e", ex_id, *args, "--jobs", "1", "--timeout", "10",
                "--format", "json", cwd=folder)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return Graded(proc, json.loads(proc.stdout), ex_id, str(python).startswith("/tmp/"))


@pytest.fixture(scope="module", params=["editable", "wheel", "sdist", "wheel-under-tmp"])
def graded(request: pytest.FixtureRequest, installs: dict[str, Install], tmp_path_factory) -> Graded:
    """The built-in course of one install mode, graded from a folder that has no exercises/."""
    install = installs[request.param]
    copies = _reference_copies(install, "dot_product")
    assert (install.site / "grader" / "course" / "solutions" / "dot_product.py").is_file()  # the copy to hide
    thief = _thief(copies, ["dot_product", "dot-product"], [MARKERS["dot-product"]], "dot")
    return _grade_class(install.python, tmp_path_factory.mktemp(f"class-{install.mode}"), "dot-product", "dot", thief)


@pytest.fixture(scope="module")
def graded_elsewhere(installs: dict[str, Install], tmp_path_factory) -> Graded:
    """A course given by --exercises, inside the wheel venv's prefix: YAML, solution and checks
    each in a folder of its own."""
    prefix = installs["wheel"].python.parent.parent
    yaml_dir, key_dir, check_dir = prefix / "share" / "course-yaml", prefix / "keys", prefix / "include" / "probes"
    for d in (yaml_dir, key_dir, check_dir):
        d.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "cosine_similarity.py", key_dir)
    shutil.copy(ROOT / "checks" / "cosine_similarity.py", check_dir)
    text = (ROOT / "exercises" / "cosine-similarity.yaml").read_text()
    text = text.replace("solution: ../solutions/cosine_similarity.py", f"solution: {key_dir / 'cosine_similarity.py'}")
    text = text.replace("checks: ../checks/cosine_similarity.py", f"checks: {check_dir / 'cosine_similarity.py'}")
    assert str(key_dir) in text and str(check_dir) in text
    (yaml_dir / "cosine-similarity.yaml").write_text(text)
    known = [key_dir / "cosine_similarity.py", check_dir / "cosine_similarity.py", yaml_dir / "cosine-similarity.yaml"]
    thief = _thief(known, ["cosine_similarity", "cosine-similarity"], [MARKERS["cosine-similarity"], CHECKS_MARKER],
                   "cosine_similarity")
    return _grade_class(installs["wheel"].python, tmp_path_factory.mktemp("class-elsewhere"), "cosine-similarity",
                        "cosine_similarity", thief, "--exercises", yaml_dir)


def _assert_no_leak(g: Graded) -> None:
    out = g.stdout("a-thief")
    assert "WALKED" in out, out  # the search ran to the end
    assert "FOUND" not in out and "STOLEN" not in out, out

    def scores(sid: str) -> dict[str, float]:
        return {c["name"]: c["score"] for c in g.ex(sid)["checks"]}

    assert scores("a-thief") == scores("a-zero"), g.ex("a-thief")  # no point a constant answer does not earn
    bob = g.ex("bob")
    assert bob["status"] == "passed" and bob["score"] == bob["max_score"], bob


@as_root
def test_no_install_mode_shows_the_course_to_a_sandbox(graded: Graded):
    assert graded.proc.returncode == 0 and "Traceback" not in graded.proc.stderr, graded.proc.stderr[-3000:]
    _assert_no_leak(graded)


@as_root
def test_the_python_installation_stays_whole_for_the_sandbox(graded: Graded):
    out = graded.stdout("a-thief")
    assert "PREFIX True" in out and "NUMPY ok" in out, out


@as_root
def test_a_course_from_anywhere_is_hidden_file_by_file(graded_elsewhere: Graded):
    _assert_no_leak(graded_elsewhere)
    assert "PREFIX True" in graded_elsewhere.stdout("a-thief")


def test_a_course_file_no_mount_can_hide_stops_the_grading(installs: dict[str, Install], tmp_path: Path):
    """A solution lying loose in site-packages: hiding its folder would hide the installation."""
    install = installs["wheel"]
    solution = install.site / "loose_dot_product.py"
    shutil.copy(ROOT / "solutions" / "dot_product.py", solution)
    (tmp_path / "exercises").mkdir()
    text = (ROOT / "exercises" / "dot-product.yaml").read_text()
    (tmp_path / "exercises" / "dot-product.yaml").write_text(
        text.replace("solution: ../solutions/dot_product.py", f"solution: {solution}"))
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "bob.py").write_text((CORPUS / "dot-product" / "correct_loop.py").read_text())
    try:
        proc = _run(install.python, "-m", "grader", tmp_path / "subs", "--exercises", tmp_path / "exercises",
                    "--jobs", "1", "--format", "json", cwd=tmp_path)
    finally:
        solution.unlink()
        for cache in (install.site / "__pycache__").glob("loose_dot_product.*"):
            cache.unlink()
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout[-2000:] + proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and str(solution.resolve()) in errors[0] and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == errors[0], proc.stderr


# ------------------------------------------------------------------------------------------------
# Where the course may lie, generated: hidden whenever it can be, refused when it cannot


PLACES = ("py", "py/a", "py/a/b", "out", "out/a/b")  # "py": a folder every sandbox sees


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(yaml=st.sampled_from(PLACES), solution=st.sampled_from(PLACES),
       checks=st.sampled_from(PLACES), submission=st.sampled_from(PLACES))
def test_every_layout_is_hidden_or_refused(monkeypatch, yaml: str, solution: str, checks: str, submission: str):
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp).resolve()
        python = base / "py"
        monkeypatch.setattr(hidden, "python_dirs", lambda: [str(python)])
        paths = {"yaml": base / yaml / "cosine-similarity.yaml", "solution": base / solution / "sol_cosine.py",
                 "checks": base / checks / "check_cosine.py", "submission": base / submission / "alice.py"}
        for p in paths.values():
            p.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "solutions" / "cosine_similarity.py", paths["solution"])
        shutil.copy(ROOT / "checks" / "cosine_similarity.py", paths["checks"])
        paths["submission"].write_text("def cosine_similarity(a, b):\n    return 0.0\n")
        text = (ROOT / "exercises" / "cosine-similarity.yaml").read_text()
        text = text.replace("solution: ../solutions/cosine_similarity.py", f"solution: {paths['solution']}")
        text = text.replace("checks: ../checks/cosine_similarity.py", f"checks: {paths['checks']}")
        paths["yaml"].write_text(text)
        ex = load_exercise(paths["yaml"])
        sub = Submission("alice", paths["submission"], ())
        loose = [p for p in paths.values() if p.parent == python]  # no mount covers them alone
        try:
            hide = hidden.hidden_paths([ex], [sub])
        except GraderError as e:
            assert loose, f"refused though every file could be hidden: {e}"
            assert "\n" not in str(e) and any(str(p) in str(e) for p in loose), str(e)
            return
        assert not loose, f"{loose} stay readable by every sandbox; hidden: {hide}"
        roots = hidden.visible_roots()
        for h in hide:  # nothing the sandbox needs is covered
            assert not any(r == h or r.startswith(h + "/") for r in roots), (h, roots)
        for p in paths.values():  # whatever a sandbox could see is under a hidden folder
            if str(p).startswith(str(python) + "/"):
                assert any(str(p).startswith(h + "/") for h in hide), (p, hide)


# One hostile student among correct and wrong ones: each kind attacks the trusted side another way.
HOSTILE = {
    "unconvertible": textwrap.dedent("""
        def dot(a, b):
            if len(a) == len(b) == 2:
                return 10**400
            raise type("E\\x1b[2J", (ValueError,), {})("\\ud800 \\x1b]0;owned\\x07")
    """),
    "forged-reply": textwrap.dedent("""
        import os, struct

        def dot(a, b):
            for fd in range(3, 32):  # whatever it finds open: a reply claiming 4 GB, then garbage
                try:
                    os.write(fd, struct.pack("!II", 2**31, 2**31) + b"{" * 4096)
                except OSError:
                    pass
            return 0.0
    """),
    "memory-bomb": textwrap.dedent("""
        def dot(a, b):
            block = bytearray(8 * 1024**3)
            return float(len(block))
    """),
}
NEIGHBOURS = sorted((CORPUS / "dot-product").glob("*.py"))[:15] + sorted((CORPUS / "dot-product" / "generic").glob("*.py"))[:4]


@as_root
@pytest.mark.parametrize("mode", ["editable", "wheel"])
def test_one_hostile_student_leaves_nineteen_neighbours_exactly_as_they_were(installs, tmp_path, mode):
    python = installs[mode].python
    assert len(NEIGHBOURS) == 19

    def graded(hostile: str | None) -> dict:
        subs = tmp_path / (hostile or "alone")
        subs.mkdir()
        for path in NEIGHBOURS:
            (subs / f"{path.parent.name}-{path.stem}.py").write_text(path.read_text())
        if hostile:
            (subs / "a-hostile.py").write_text(HOSTILE[hostile])
        proc = _run(python, "-m", "grader", subs, "-e", "dot-product", "--jobs", "2", "--timeout", "1",
                    "--format", "json", cwd=tmp_path)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        doc = by_id(json.loads(proc.stdout))
        return {sid: (sub["score"], sub["exercises"], sub["output"]) for sid, sub in doc.items()}

    alone = graded(None)
    for hostile in HOSTILE if mode == "wheel" else ["unconvertible"]:  # the suite's time: one kind suffices twice
        results = graded(hostile)
        attacker = results.pop("a-hostile")
        assert attacker[0] < 14, (hostile, attacker)
        assert results == alone, hostile
