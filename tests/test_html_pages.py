"""The HTML feedback pages and the class report, opened in headless Chromium.

The example class (and one hostile student) is graded once for the module with the real `grade`
command; `grade report` renders the class report from its gradebook. Each page is loaded in
Chromium over the DevTools protocol: the tests read the rendered DOM (the pictures' numbers, the
report's counts), the console and the network log, and take screenshots.

GRADER_SCREENSHOTS=DIR keeps the screenshots of a feedback page and the class report in DIR
(docs/ holds the ones the README shows).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from browser import Browser, available

from grader.feedback import Feedback
from grader.report import RunReport
from grader.results import CheckResult, Diagnosis, ExerciseResult, SubmissionResult

from conftest import EXAMPLES, grade

pytestmark = pytest.mark.skipif(not available(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)")

HOSTILE = '''
print("<script>document.title = 'owned'</script><img src='http://192.0.2.1/x.png'>")


def dot(a, b):
    return "<script>document.title = 'owned'</script>"


def cosine_similarity(a, b):
    raise ValueError("<script>document.title = 'owned'</script><img src=http://192.0.2.1/y.png>")
'''
HOSTILE_ID = "mallory"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The example class plus a hostile student: graded once, pages and report written."""
    root = tmp_path_factory.mktemp("class")
    subs = root / "submissions"
    shutil.copytree(EXAMPLES, subs)
    (subs / HOSTILE_ID).mkdir()
    (subs / HOSTILE_ID / "similarity.py").write_text(HOSTILE)
    db, pages, report_dir = root / "gradebook.sqlite", root / "feedback", root / "report"
    proc = grade(str(subs), "--db", str(db), "--feedback-dir", str(pages), "--format", "json", "-j", "2")
    assert proc.returncode in (0, 1), proc.stderr
    results = {s["id"]: s for s in json.loads(proc.stdout)["submissions"]}
    proc = grade("report", "--db", str(db), "--feedback-dir", str(report_dir))
    assert proc.returncode == 0, proc.stderr
    return {"pages": pages, "report": report_dir, "results": results, "root": root}


@pytest.fixture(scope="module")
def browser() -> Browser:
    b = Browser()
    yield b
    b.close()


def _check_data(results: dict, student: str, exercise: str, check: str | None = None) -> dict:
    ex = next(e for e in results[student]["exercises"] if e["id"] == exercise)
    return next(c["data"] for c in ex["checks"] if "data" in c and (check is None or c["name"] == check))


def _clean(page) -> None:
    assert page.errors == [], page.errors
    assert page.external_requests == [], page.external_requests


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_every_page_loads_clean_and_offline(rendered: dict, browser: Browser) -> None:
    """No console error and no request beyond the page itself, for every student and the report."""
    files = sorted(rendered["pages"].glob("*.html")) + [rendered["report"] / "index.html"]
    assert len(files) == len(rendered["results"]) + 2  # the pages, the batch's index.html and the report
    for path in files:
        page = browser.open(path)
        _clean(page)
        assert page.js("document.querySelectorAll('script').length") == 0, path.name


def test_dot_product_arrows_show_the_angle_and_lengths(rendered: dict, browser: Browser) -> None:
    data = _check_data(rendered["results"], "carla", "dot-product")
    a, b = (np.array(v["values"]) for _, v in data["args"])
    page = browser.open(rendered["pages"] / "carla.html")
    found = page.js("""(() => {
        const svg = document.querySelector('#ex-dot-product svg.arrows');
        return {angle: +svg.dataset.angle,
                lengths: [...svg.querySelectorAll('g.arrow')].map(g => [g.dataset.name, +g.dataset.length]),
                shafts: svg.querySelectorAll('g.arrow line.shaft').length,
                text: svg.textContent,
                caption: svg.closest('figure').querySelector('figcaption').textContent};
    })()""")
    angle = math.degrees(math.acos(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
    assert found["angle"] == pytest.approx(angle, rel=1e-5)
    assert found["lengths"] == [["a", pytest.approx(np.linalg.norm(a), rel=1e-5)],
                                ["b", pytest.approx(np.linalg.norm(b), rel=1e-5)]]
    assert found["shafts"] == 2
    assert f"θ = {angle:.1f}°" in found["text"]
    assert f"{a @ b:.2f}".rstrip("0") in found["caption"]  # a·b = ‖a‖ ‖b‖ cos θ = 9.08


def test_projection_is_named_for_more_than_two_dimensions(rendered: dict, browser: Browser) -> None:
    page = browser.open(rendered["pages"] / "carla.html")
    captions = page.js("[...document.querySelectorAll('#ex-dot-product figure.figure-arrows figcaption')]"
                       ".map(f => f.textContent)")
    assert any("3-dimensional vectors, drawn in the plane through a and b" in c for c in captions), captions


def test_transposed_matrix_is_drawn_as_such(rendered: dict, browser: Browser) -> None:
    data = _check_data(rendered["results"], "eli", "similarity-matrix")
    A, B = (np.array(v["values"]) for _, v in data["args"])
    expected = A @ B.T
    page = browser.open(rendered["pages"] / "eli.html")
    found = page.js("""(() => {
        const svg = document.querySelector('#ex-similarity-matrix svg.heatmaps');
        const cells = role => [...svg.querySelectorAll('g.heatmap.' + role + ' g.cell')]
            .map(c => [+c.dataset.row, +c.dataset.col, +c.dataset.value]);
        return {transposed: svg.dataset.transposed, low: +svg.dataset.low, high: +svg.dataset.high,
                expected: cells('expected'), got: cells('got'), warning: svg.querySelector('.warning')?.textContent,
                caption: svg.closest('figure').querySelector('figcaption').textContent};
    })()""")
    assert found["transposed"] == "true"
    assert len(found["expected"]) == expected.size
    for i, j, v in found["expected"]:
        assert v == pytest.approx(expected[i, j], rel=1e-5, abs=1e-9)
    for i, j, v in found["got"]:
        assert v == pytest.approx(expected[j, i], rel=1e-5, abs=1e-9)  # the student's is the transpose
    assert (found["low"], found["high"]) == (pytest.approx(expected.min()), pytest.approx(expected.max()))
    assert "swapped" in found["caption"] or "mirrored" in found["caption"]


def test_softmax_bars_show_rows_summing_to_one(rendered: dict, browser: Browser) -> None:
    data = _check_data(rendered["results"], "eli", "softmax")
    got = np.array(data["got"]["values"])
    page = browser.open(rendered["pages"] / "eli.html")
    rows = page.js("[...document.querySelector('#ex-softmax svg.bars').querySelectorAll('g.row')]"
                   ".map(r => [+r.dataset.expectedSum, +r.dataset.gotSum])")
    assert rows
    for n, (expected_sum, got_sum) in enumerate(rows):
        assert expected_sum == pytest.approx(1.0)
        assert got_sum == pytest.approx(got.reshape(-1, got.shape[-1])[n].sum())
    bars = page.js("document.querySelector('#ex-softmax svg.bars').querySelectorAll('g.bar.expected').length")
    assert bars == sum(len(r) for r in np.array(data["expected"]["values"]).reshape(-1, got.shape[-1])[:len(rows)])


def test_top_k_ranking_by_cosine_beside_the_students(rendered: dict, browser: Browser) -> None:
    data = _check_data(rendered["results"], "dev", "top-k-similar")
    values = {name: v.get("values") for name, v in data["args"]}
    query, keys = np.array(values["query"]), np.array(values["keys"])
    cos = keys @ query / (np.linalg.norm(keys, axis=1) * np.linalg.norm(query))
    page = browser.open(rendered["pages"] / "dev.html")
    found = page.js("""(() => {
        const svg = document.querySelector('#ex-top-k-similar svg.ranking');
        return {ranked: [...svg.querySelectorAll('g.ranked')].map(g => [+g.dataset.key, +g.dataset.cosine]),
                picks: [...svg.querySelectorAll('g.pick')].map(g => +g.dataset.key)};
    })()""")
    assert [k for k, _ in found["ranked"]] == sorted(range(len(keys)), key=lambda i: (-cos[i], i))
    for k, c in found["ranked"]:
        assert c == pytest.approx(cos[k], rel=1e-5)
    assert found["picks"] == [int(x) for x in data["got"]["values"]]


def test_first_difference_is_marked(rendered: dict, browser: Browser) -> None:
    page = browser.open(rendered["pages"] / "dev.html")
    marked = page.js("[...document.querySelectorAll('#ex-attention-scores dd.got mark.diff')].map(m => m.dataset.index)")
    assert marked and marked[0] == "0,0"


def test_students_script_stays_text(rendered: dict, browser: Browser) -> None:
    page = browser.open(rendered["pages"] / f"{HOSTILE_ID}.html")
    _clean(page)
    assert page.js("document.title") == f"Feedback for {HOSTILE_ID}"
    assert page.js("document.querySelectorAll('script, img, iframe, object').length") == 0
    text = page.js("document.body.textContent")
    assert "<script>document.title = 'owned'</script><img src='http://192.0.2.1/x.png'>" in text  # what it printed
    assert "<script>document.title = 'owned'</script><img src=http://192.0.2.1/y.png>" in text  # its exception
    report = browser.open(rendered["report"] / "index.html")
    _clean(report)
    assert report.js("document.querySelectorAll('script, img').length") == 0


def test_class_report_counts(rendered: dict, browser: Browser) -> None:
    results = rendered["results"]
    page = browser.open(rendered["report"] / "index.html")
    found = page.js("""(() => ({
        bins: [...document.querySelectorAll('svg.histogram g.bin')].map(b => +b.dataset.count),
        rates: Object.fromEntries([...document.querySelectorAll('details.exercise-rate')]
            .map(d => [d.dataset.exercise, [+d.dataset.passed, +d.dataset.total]])),
        misconceptions: [...document.querySelectorAll('#misconceptions tr[data-misconception]')]
            .map(r => [r.dataset.exercise, r.dataset.misconception, +r.dataset.count,
                       [...r.querySelectorAll('a')].map(a => a.getAttribute('href'))]),
        problems: [...document.querySelectorAll('#problems li')].map(l => l.dataset.student),
    }))()""")
    assert sum(found["bins"]) == len(results)
    for ex_id, (passed, total) in found["rates"].items():
        statuses = [next(e["status"] for e in s["exercises"] if e["id"] == ex_id) for s in results.values()]
        assert (passed, total) == (statuses.count("passed"), len(statuses))
    counts = {}
    for s in results.values():
        for e in s["exercises"]:
            for m in e["misconceptions"]:
                counts.setdefault((e["id"], m["id"]), []).append(s["id"])
    assert {(ex, m): n for ex, m, n, _ in found["misconceptions"]} == {k: len(v) for k, v in counts.items()}
    assert [n for _, _, n, _ in found["misconceptions"]] == sorted((len(v) for v in counts.values()), reverse=True)
    for ex, m, _, links in found["misconceptions"]:
        assert sorted(links) == sorted(f"./{who}.html#ex-{ex}" for who in counts[(ex, m)])
        for link in links:
            assert (rendered["report"] / link.split("#")[0]).is_file()
    timed_out = sorted(s["id"] for s in results.values() if any(e["status"] in ("timeout", "error") for e in s["exercises"]))
    assert sorted(found["problems"]) == timed_out
    assert "gus" in timed_out  # the example class's endless loop


def test_screenshots(rendered: dict, browser: Browser, tmp_path: Path) -> None:
    """A feedback page and the report as PNGs of the window's size (kept in GRADER_SCREENSHOTS)."""
    keep = Path(os.environ["GRADER_SCREENSHOTS"]) if os.environ.get("GRADER_SCREENSHOTS") else tmp_path
    shots = [(rendered["pages"] / "eli.html", "feedback-page.png", "ex-similarity-matrix"),
             (rendered["report"] / "index.html", "class-report.png", None)]
    for path, name, anchor in shots:
        page = browser.open(path, 820, 1000)
        _clean(page)
        if anchor:
            page.js(f"document.getElementById('{anchor}').scrollIntoView()")
        browser.screenshot(keep / name)
        assert _png_size(keep / name) == (820, 1000)


def test_a_phone_sized_window_needs_no_sideways_scroll(rendered: dict, browser: Browser) -> None:
    page = browser.open(rendered["pages"] / "carla.html", 380, 800)
    assert page.js("document.documentElement.scrollWidth") <= 380


def _long_text_class(folder: Path) -> None:
    """Pages and a report for students whose texts have no place to break: an exception message
    of 200 000 characters, a 200-character name, a 240-character file name."""
    feedback = Feedback.shared()
    long_name = "N" * 200
    subs = []
    for sid, message, file in (("ada", "short", "similarity.py"), (long_name, "E" * 200_000, "f" * 237 + ".py")):
        checks = (CheckResult("one", "failed", 0.0, 1.0, "visible", message), CheckResult("two", "passed", 1.0, 1.0, "visible"))
        exercises = tuple(ExerciseResult(ex_id, "An exercise", "failed", 1.0, 2.0, checks,
                                         (Diagnosis("raises", "An exception", "ev", "You raised " + message),),
                                         file=file, message=message) for ex_id in ("dot-product", "softmax"))
        subs.append(SubmissionResult(sid, "p", exercises, stdout=message, meta=(("name", long_name),)))
    report = RunReport([s.id for s in subs], "json", feedback, folder)
    for i, sub in enumerate(subs):
        report.add(i, sub)
    with open(folder / "out.json", "w") as out:
        report.write(out)
    report.close()


def test_long_unbroken_text_never_widens_a_page(browser: Browser, tmp_path: Path) -> None:
    _long_text_class(tmp_path)
    for name in ("N" * 200 + ".html", "ada.html", "index.html"):
        for width in (380, 900):
            page = browser.open(tmp_path / name, width, 800)
            _clean(page)
            assert page.js("document.documentElement.scrollWidth") <= width, (name, width)
    page = browser.open(tmp_path / "index.html", 900, 800)
    widths = page.js("[...document.querySelectorAll('#students th.ex')].map(th => th.getBoundingClientRect().width)")
    assert widths and min(widths) >= page.js("(() => { const c = document.querySelector('#students th.ex code');"
                                             " return c.scrollWidth; })()")  # an exercise's id is never broken
