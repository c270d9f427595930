"""What a student may import: the standard library, numpy, their own modules and the packages the
course's exercises declare (`packages:`), which the course platforms install; anything else is
"not available in this course", whatever this machine happens to have installed."""

from __future__ import annotations

import json
import shlex
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.course import load_exercise
from grader.errors import ExerciseError
from grader.exercise import Package
from grader.notebooks import notebook_place, notebook_source

from conftest import CORPUS, DOT_POINTS, EXERCISES, by_id, exercise, grade, grade_json

CORRECT = (CORPUS / "dot-product" / "correct_loop.py").read_text()


def _course(tmp_path: Path, packages: list) -> Path:
    """The shipped dot-product exercise, with `packages` added."""
    folder = tmp_path / "course"
    folder.mkdir()
    data = yaml.safe_load((EXERCISES / "dot-product.yaml").read_text())
    data["solution"] = str((EXERCISES / data["solution"]).resolve())
    data["packages"] = packages
    (folder / "dot-product.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def test_declared_packages_import_and_others_are_named_as_unavailable(tmp_path):
    course = _course(tmp_path, ["yaml"])
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "declared.py").write_text("import yaml\n" + CORRECT)
    (subs / "installed-not-declared.py").write_text("import jinja2\n" + CORRECT)
    (subs / "missing.py").write_text("import matplotlib.pyplot as plt\n" + CORRECT)
    (subs / "own-module").mkdir()
    (subs / "own-module" / "helpers.py").write_text("def mul(x, y):\n    return x * y\n")
    (subs / "own-module" / "similarity.py").write_text("from helpers import mul\n" + CORRECT)
    doc = by_id(grade_json(str(subs), "--exercises", str(course)))
    for sid in ("declared", "own-module"):
        assert doc[sid]["score"] == DOT_POINTS, doc[sid]
    for sid, name in (("installed-not-declared", "jinja2"), ("missing", "matplotlib")):
        ex = exercise(doc[sid], "dot-product")
        assert ex["status"] == "error" and f"`{name}` is not available in this course" in ex["message"], ex


def test_a_package_s_own_imports_are_its_business(tmp_path):
    """numpy (always available) imports what it needs; a declared package's dependencies need no
    declaration of their own."""
    course = _course(tmp_path, ["jinja2"])  # jinja2 imports markupsafe, which is not declared
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "polynomial.py").write_text("import numpy.polynomial.polynomial as P\nimport numpy.ma\n" + CORRECT)
    (subs / "templated.py").write_text("import jinja2\nassert jinja2.Template('{{ x }}').render(x=1) == '1'\n" + CORRECT)
    doc = by_id(grade_json(str(subs), "--exercises", str(course)))
    assert doc["polynomial"]["score"] == doc["templated"]["score"] == DOT_POINTS, doc["templated"]


@pytest.mark.parametrize("packages, expected", [
    (["matplotlib"], (Package("matplotlib", "matplotlib"),)),
    ([{"import": "sklearn", "install": "scikit-learn >= 1.3"}], (Package("sklearn", "scikit-learn>=1.3"),)),
])
def test_packages_load_as_import_names_and_requirements(tmp_path, packages, expected):
    assert load_exercise(_course(tmp_path, packages) / "dot-product.yaml").packages == expected


@pytest.mark.parametrize("packages, message", [
    ("matplotlib", "packages: expected a list of packages, got a string"),
    (["matplotlib.pyplot"], "packages[0]: expected the name a student imports (such as matplotlib), got 'matplotlib.pyplot'"),
    ([{"import": "sklearn", "install": "scikit-learn; rm -rf /"}], "packages[0]: expected what pip installs"),
    ([{"install": "x"}], "packages[0]"),
])
def test_a_wrong_packages_entry_is_an_error_naming_it(tmp_path, packages, message):
    path = _course(tmp_path, packages) / "dot-product.yaml"
    with pytest.raises(ExerciseError) as refused:
        load_exercise(path)
    assert str(refused.value).startswith(str(path)) and message in str(refused.value), refused.value


def test_the_gradescope_package_installs_the_declared_packages(tmp_path):
    course = _course(tmp_path, [{"import": "yaml", "install": "pyyaml"}, {"import": "sklearn", "install": "scikit-learn>=1.3"}])
    out = tmp_path / "autograder.zip"
    built = grade("gradescope", str(course), "-o", str(out))
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(out) as zf:
        env = zf.read("grader.env").decode()
    sourced = subprocess.run(["bash", "-c", f"{env}\nprintf '%s' \"$GRADER_PACKAGES\""], capture_output=True,
                             text=True, check=True).stdout
    assert shlex.split(sourced) == ["pyyaml", "scikit-learn>=1.3"]


# --------------------------------------------------------------------------- notebooks

def _notebook(cells: list[tuple[str, str]]) -> bytes:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src)
                for kind, src in cells]
    return nbformat.writes(nb).encode()


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.tuples(st.sampled_from(["code", "markdown"]),
                                st.lists(st.sampled_from(["x = 1", "y = x", "%time z = 2", "!ls", "", "# c"]),
                                         min_size=1, max_size=5).map("\n".join)), min_size=1, max_size=6))
def test_every_line_of_the_module_made_of_a_notebook_maps_back_to_its_cell(cells):
    """A place in the generated module is said as the student's notebook has it: cell and line."""
    module, problem = notebook_source(_notebook(cells), "hw.ipynb")
    assert problem is None
    lines = module.decode().split("\n")
    for number, (kind, src) in enumerate(cells, 1):
        if kind != "code":
            continue
        start = lines.index(f"# --- hw.ipynb, cell {number}") + 1  # 0-based index of the marker, +1
        for offset in range(len(src.split("\n"))):
            assert notebook_place(module, start + 1 + offset) == (number, offset + 1)


def test_a_notebook_s_errors_point_at_its_cells(tmp_path):
    subs = tmp_path / "subs"
    for sid, cells in {
        "imports-matplotlib": [("markdown", "# HW 3"), ("code", "import numpy as np"),
                               ("code", "import matplotlib.pyplot as plt\nplt.plot([1, 2])"), ("code", CORRECT)],
        "divides-by-zero": [("code", "import numpy as np"),
                            ("code", "def dot(a, b):\n    total = float(np.dot(a, b))\n    return total / 0")],
        "syntax-error": [("markdown", "notes"), ("code", "def dot(a, b)\n    return 0")],
    }.items():
        (subs / sid).mkdir(parents=True)
        (subs / sid / "hw.ipynb").write_bytes(_notebook(cells))
    doc = by_id(grade_json(str(subs), "-e", "dot-product"))
    said = {sid: json.dumps(exercise(sub, "dot-product")) for sid, sub in doc.items()}
    assert ("`matplotlib` is not available in this course (hw.ipynb, cell 3, line 1 in <module>)"
            in said["imports-matplotlib"]), said["imports-matplotlib"]
    assert "hw.ipynb, cell 2, line 3 in dot" in said["divides-by-zero"], said["divides-by-zero"]
    assert "syntax error in hw.ipynb, cell 2, line 1" in said["syntax-error"], said["syntax-error"]
    for text in said.values():
        assert "hw.py" not in text and "hw_ipynb.py" not in text  # a file the student never saw


def test_the_terminal_shows_plain_text_not_markdown_escapes(tmp_path):
    """`grade check` prints for a person at a terminal: the student's numbers and names as they
    are, no `\\[`, no `&lt;`; the Markdown format keeps them escaped."""
    sub = tmp_path / "carla.py"
    sub.write_text("import numpy as np\n\ndef dot(a, b):\n    raise ValueError('<module> [x] *y* & `z`')\n")
    text = grade("check", str(sub), "-e", "dot-product").stdout
    markdown = grade("check", str(sub), "-e", "dot-product", "--format", "markdown").stdout
    assert "<module> [x] *y* & `z`" in text and "the seed's a = [0.2, 3] and b = [0.4, 3]" in text, text
    for escaped in ("\\[", "&lt;", "&amp;", "\\*", "**"):
        assert escaped not in text, escaped
    assert "&lt;module&gt; \\[x\\]" in markdown, markdown
