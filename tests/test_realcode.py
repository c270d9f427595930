"""The real-code corpus (tests/realcode): buggy functions from public bug reports and Q&A,
graded once with the real `grade` command. Every buggy one loses points, correct ones get full
marks and no name, and nothing is named outside its label."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.course import load_exercise
from grader.diagnosis import GENERIC_TITLES

from conftest import EXERCISES, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import realcode  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)

ENTRIES = realcode.load_corpus(realcode.DEFAULT_CORPUS)
BUGGY = [e for e in ENTRIES if not e.correct]
CORRECT = [e for e in ENTRIES if e.correct]

# Buggy entries the shipped cases do not catch yet, each with the input its bug hides from
# (strict xfails: the mark goes when a case catches it).
CASE_GAPS: dict[str, str] = {}


def _ids(entries: list[realcode.Entry]) -> list[str]:
    return [e.name for e in entries]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, realcode.Outcome]:
    """The whole corpus graded in one `grade` run."""
    return realcode.grade_corpus(ENTRIES)


def test_every_label_names_the_exercise_catalogue_or_a_generic_id():
    for entry in ENTRIES:
        ex = load_exercise(EXERCISES / f"{entry.exercise}.yaml")
        known = {m.id for m in ex.misconceptions} | set(GENERIC_TITLES)
        unknown = [x for x in entry.catalogued + entry.also if x not in known]
        assert not unknown, f"{entry.path.name}: {unknown} is not a misconception of {entry.exercise}"
        assert entry.source.startswith(("http://", "https://")), entry.path.name


def test_the_corpus_is_large_and_varied_enough():
    assert len(BUGGY) >= 45 and len(CORRECT) >= 8
    assert sum(len(e.catalogued) == 2 for e in BUGGY) >= 5
    assert {e.exercise for e in BUGGY} >= {ex.stem for ex in EXERCISES.glob("*.yaml")} - {"similarity-quiz"}


@pytest.mark.parametrize(
    "entry",
    [pytest.param(e, marks=pytest.mark.xfail(strict=True, reason=CASE_GAPS[e.name]))
     if e.name in CASE_GAPS else e for e in BUGGY],
    ids=_ids(BUGGY))
def test_every_buggy_function_loses_points(outcomes, entry):
    result = outcomes[entry.name]
    assert result.caught, f"{entry.name} got {result.score}/{result.max_score}: {entry.diagnosis}"


@pytest.mark.parametrize("entry", CORRECT, ids=_ids(CORRECT))
def test_correct_functions_get_full_marks_and_no_name(outcomes, entry):
    result = outcomes[entry.name]
    assert (result.score, result.named) == (result.max_score, []), result


@pytest.mark.parametrize("entry", BUGGY, ids=_ids(BUGGY))
def test_no_function_is_named_outside_its_label(outcomes, entry):
    assert outcomes[entry.name].wrong_names(entry) == [], f"label: {', '.join(entry.label + entry.also)}"


def test_at_least_95_percent_are_named_as_labelled(outcomes):
    t = realcode.totals(ENTRIES, outcomes)
    assert t["named"] >= 0.95 * t["catalogued"], t
    assert t["compound_named"] >= 0.9 * t["compound"], t


def test_a_malformed_entry_is_reported_with_its_file(tmp_path: Path):
    bad = tmp_path / "no-label.py"
    bad.write_text('"""Header without a label.\n\nsource: https://example.org\nexercise: dot-product\n"""\n')
    with pytest.raises(realcode.CorpusError, match=r"no-label\.py: .*diagnosis, label"):
        realcode.load_corpus(tmp_path)
    bad.write_text('"""x\n\nsource: s\ndiagnosis: d\nexercise: dot-product\nlabel: correct, sign-flip\n"""\n')
    with pytest.raises(realcode.CorpusError, match=r"no-label\.py: label must be"):
        realcode.load_corpus(tmp_path)
