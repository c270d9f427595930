"""The `grade` command: parse, call the library, print. Errors become one line and exit 2."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import jinja2

from . import __version__, outputs
from .classes import discover
from .course import builtin_course, load_exercises
from .errors import GraderError
from .exercise import ID_RE, Exercise
from .feedback import Feedback, terminal_text
from .gradebook import Gradebook, default_path
from .grading import Options
from .hidden import hideable
from .pool import grade
from .quiz import Quiz, render_question
from .release import find_bundle, later_text, load_bundle, release
from .report import MARK, RunReport, class_report, write_output
from .results import SubmissionResult
from .roster import canvas_assignment, identities, read_roster
from .sandbox.host import Limits, probe
from .sandbox.isolation import CONTAINING_LAYERS, UNSAFE_FLAG, privileged
from .sandbox.launch import shutdown
from .scaffold import scaffold
from .submissions import load_submission
from .watch import watch as watch_path


class DefaultGroup(click.Group):
    """`grade SUBMISSIONS` means `grade batch SUBMISSIONS`: the batch is the default command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["batch", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("grade", "[OPTIONS] SUBMISSIONS | COMMAND [ARGS]...")


class ExerciseId(click.ParamType):
    name = "ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not isinstance(value, str) or not ID_RE.match(value):
            self.fail(f"'{value}' is not an exercise id (kebab-case, e.g. dot-product); `grade list` shows them", param, ctx)
        return value


def _common(f: Any) -> Any:
    options = [
        click.option("--exercises", "exercises_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder of exercise YAML files (default: ./exercises if it exists, else the built-in course)."),
        click.option("-e", "--exercise", "exercise_ids", multiple=True, type=ExerciseId(),
                     help="Grade only this exercise (repeatable)."),
        click.option("--format", "fmt", default="text", show_default=True,
                     type=click.Choice(["text", "json", "markdown", "junit", "gradescope", "prairielearn", "github"]),
                     help="text, json, markdown or junit for a class; gradescope, prairielearn and github "
                          "(the platforms' result files) for one submission, with `grade check`."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the output to this file."),
        click.option("--timeout", type=click.FloatRange(0.05, 600), default=2.0, show_default=True,
                     help="Seconds of CPU time per call of a student's function (a call that sleeps or waits: of wall clock)."),
        click.option("--submission-timeout", type=click.FloatRange(1, 7200), default=60.0, show_default=True,
                     help="Seconds of wall clock for all calls of one submission."),
        click.option("--memory", type=click.IntRange(64, 1 << 20), default=1024, show_default=True,
                     help="Address-space limit of a sandbox, in MB."),
        click.option("--templates", type=click.Path(file_okay=False, exists=True, path_type=Path),
                     help="Folder of Jinja2 templates overriding the built-in ones."),
        click.option("-v", "--verbose", is_flag=True, help="Say which sandbox layers are active."),
        click.option("--strict-sandbox", is_flag=True,
                     help="Refuse to grade unless every isolation layer can be applied (see `grade doctor`)."),
        click.option(UNSAFE_FLAG, "unsafe", is_flag=True,
                     help="Grade even where sandboxes cannot be isolated (no root, no user namespaces): "
                          "student code then runs as your user and can read or change your files."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


BUILTIN_NOTICE = ("grade: grading against the built-in demonstration course (its hidden checks ship with "
                  "the package); in a bundle from your teacher, run grade check there")


def _load(exercises_dir: Path | None, exercise_ids: tuple[str, ...]) -> list[Exercise | Quiz]:
    if exercises_dir is None:
        exercises_dir = Path("exercises") if Path("exercises").is_dir() else builtin_course()
    return load_exercises(exercises_dir, exercise_ids)


def _write(path: Path | None, text: str) -> None:
    if path is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_output(path, lambda f: f.write(text))


def _merged() -> bool:
    """Whether stderr writes to the same file, pipe or terminal as stdout."""
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino)


PER_SUBMISSION = ("gradescope", "prairielearn", "github")


def _render(results: list[SubmissionResult], fmt: str, feedback: Feedback) -> str:
    report = RunReport([r.id for r in results], fmt, feedback)
    try:
        for i, r in enumerate(results):
            report.add(i, r)
        out = io.StringIO()
        report.write(out)
        return out.getvalue()
    finally:
        report.close()


def _check_sandbox(verbose: bool, strict: bool, unsafe: bool) -> None:
    """Start one sandbox and refuse to grade if it cannot contain student code (unless the
    teacher said, by name, to grade anyway)."""
    layers, missing = probe()
    if verbose:
        click.echo(f"sandbox layers: {', '.join(layers)}", err=True)
        for m in missing:
            click.echo(f"sandbox layer missing: {m}", err=True)
    if strict and missing:
        raise GraderError(f"--strict-sandbox: {len(missing)} isolation layer(s) unavailable: {'; '.join(missing)}")
    if not any(layer in layers for layer in CONTAINING_LAYERS):
        why = "; ".join(m for m in missing if m.startswith(("private-filesystem", "uid-drop"))) or "no namespaces"
        if not unsafe:
            raise GraderError(f"sandboxes cannot be isolated on this machine ({why}): student code would run as "
                              f"your user and could read or change anything you can. Run as root (with its capabilities), or where "
                              f"user namespaces are allowed (see `grade doctor`); to grade anyway, pass {UNSAFE_FLAG}")
        click.echo(f"grader: {UNSAFE_FLAG}: student code runs as your user, unisolated ({why})", err=True)


def _options(timeout: float, submission_timeout: float, memory: int, jobs: int, templates: Path | None) -> Options:
    limits = Limits(call_timeout=timeout, submission_timeout=submission_timeout, memory_mb=memory)
    return Options(limits=limits, jobs=jobs, templates=templates)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def cli() -> None:
    """Grade vector-similarity exercises in a sandbox, with feedback that names the misconception.

    \b
    grade SUBMISSIONS        grade every submission in a folder (the default command)
    grade check PATH         grade one submission
    grade list               list the exercises
    """


@cli.command("batch")
@click.argument("submissions", type=click.Path(exists=True, path_type=Path))
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=os.cpu_count() or 1, show_default=True,
              help="Grading worker processes.")
@click.option("--feedback-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write each student's feedback here (Markdown and an HTML page with pictures) and the class "
                   "report as index.html.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The gradebook (SQLite; default: gradebook.sqlite beside the submissions folder).")
@click.option("--no-db", is_flag=True, envvar="GRADER_NO_DB", help="Do not read or write a gradebook.")
@click.option("--regrade", is_flag=True, help="Grade every submission, even those unchanged since the gradebook's last run.")
@click.option("--scheduler", metavar="ADDRESS|local:N",
              help="Grade on a Dask cluster: its scheduler's address (tcp://host:8786), or local:N for N worker "
                   "processes here (needs vecgrader[dask]; see docs/cluster.md). --jobs is then unused.")
@_common
def batch(submissions: Path, jobs: int, feedback_dir: Path | None, db_path: Path | None, no_db: bool, regrade: bool,
          scheduler: str | None,
          exercises_dir: Path | None,
          exercise_ids: tuple[str, ...], fmt: str, output: Path | None, timeout: float,
          submission_timeout: float, memory: int, templates: Path | None, verbose: bool, strict_sandbox: bool,
          unsafe: bool) -> None:
    """Grade every submission in SUBMISSIONS: a folder (one subfolder, .py, .ipynb or .zip per
    student), or the .zip of a Canvas or Moodle download."""
    if fmt in PER_SUBMISSION:
        raise click.UsageError(f"--format {fmt} describes one submission: use `grade check PATH --format {fmt}`")
    exercises = _load(exercises_dir, exercise_ids)
    subs = discover(submissions)
    options = _options(timeout, submission_timeout, memory, jobs, templates)
    feedback = Feedback(templates)
    _check_sandbox(verbose, strict_sandbox, unsafe)
    if scheduler is not None:
        try:
            from .cluster import check_scheduler, grade_on_cluster  # Dask is an optional dependency
        except ImportError as e:
            raise GraderError(f"--scheduler needs Dask ({e}): pip install 'vecgrader[dask]'") from None
        check_scheduler(scheduler)
    if (jobs > 1 or scheduler) and len(subs) > 1:
        shutdown()  # the probe's zygote: the grading workers start their own
    index = {str(s.path): i for i, s in enumerate(subs)}
    by_path = {str(s.path): s for s in subs}
    report = RunReport([s.id for s in subs], fmt, feedback, feedback_dir)
    book = Gradebook(db_path) if db_path else None if no_db else Gradebook(default_path(submissions))
    # a JSON or JUnit document on stdout is all that stream holds, errors aside, when stderr is
    # merged into it (2>&1, one terminal for both)
    notes = io.StringIO() if fmt in ("json", "junit") and output is None and _merged() else sys.stderr
    try:
        todo = subs
        if book is not None:
            book.start_run(exercises, submissions)
            # the gradebook's folder is no sandbox's business either
            if hideable(str(book.path.parent)):
                options = dataclasses.replace(options, limits=dataclasses.replace(
                    options.limits, hide=(*options.limits.hide, str(book.path.parent))))
            todo = []
            for i, s in enumerate(subs):
                stored = None if regrade else book.unchanged(s)
                if stored is None:
                    todo.append(s)
                else:
                    report.add(i, stored)
            if len(todo) < len(subs):
                click.echo(f"{len(subs) - len(todo)} submissions unchanged since they were graded: results kept "
                           f"from {book.path} (--regrade grades them again)", file=notes)
        with click.progressbar(length=len(todo), label=f"grading {len(todo)} submissions", file=notes,
                               show_pos=True) as bar:

            def on_result(result: SubmissionResult) -> None:
                # the gradebook and a JSON report store the same text: made once
                as_json = json.dumps(result.to_dict(), default=str) if book is not None or fmt == "json" else None
                if book is not None:
                    book.record(by_path[result.path], result, as_json)  # one transaction: a kill loses nobody graded
                report.add(index[result.path], result, as_json)
                bar.update(1)

            if todo and scheduler is not None:
                grade_on_cluster(exercises, todo, options, scheduler, on_result, unsafe=unsafe)
            elif todo:
                grade(exercises, todo, options, on_result=on_result, keep=False)
        if book is not None:
            book.finish_run()
        if output is None:
            report.write(sys.stdout)
        else:
            write_output(output, report.write)
            click.echo(f"graded {report.count} submissions (mean {report.total / max(report.count, 1):.2f}); wrote {output}")
    finally:
        report.close()
        if book is not None:
            book.close()


@cli.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--bundle", "bundle_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A student bundle of `grade release` (default: the one PATH, else this folder, lies in).")
@click.option("--watch", is_flag=True, help="Check again on every save of PATH, showing the latest result (Ctrl-C stops).")
@_common
def check(path: Path, bundle_dir: Path | None, watch: bool, exercises_dir: Path | None, exercise_ids: tuple[str, ...],
          fmt: str, output: Path | None, timeout: float, submission_timeout: float, memory: int,
          templates: Path | None, verbose: bool, strict_sandbox: bool, unsafe: bool) -> None:
    """Grade one submission (a folder or a .py file); exit 1 if any check failed.

    In a student bundle (`grade release`) the public checks run, and the hidden ones are counted.
    """
    if bundle_dir is not None and exercises_dir is not None:
        raise click.UsageError("--bundle and --exercises each name a course: give one of them")
    if watch and (fmt != "text" or output is not None):
        raise click.UsageError("--watch shows its text on the terminal: it takes no --format or --output")
    root = bundle_dir or (None if exercises_dir else find_bundle(path) or find_bundle(Path.cwd()))
    bundle = load_bundle(root, exercise_ids) if root is not None else None
    if bundle is None and exercises_dir is None and not Path("exercises").is_dir():
        click.echo(BUILTIN_NOTICE, err=True)
    exercises = bundle.graded() if bundle is not None else _load(exercises_dir, exercise_ids)
    options = _options(timeout, submission_timeout, memory, 1, templates)
    feedback = Feedback(templates)
    _check_sandbox(verbose, strict_sandbox, unsafe)

    # colour on a terminal (NO_COLOR=1 turns it off), plain text in a file or a pipe
    colour = fmt == "text" and output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def once() -> tuple[list[SubmissionResult], str]:
        results = grade(exercises, [load_submission(path.resolve(), platform=True)], options)
        text = terminal_text(feedback.render("submission.md.j2", sub=results[0]), colour)
        return results, text + (later_text(bundle) if bundle is not None else "")

    if watch:
        watch_path(path, lambda: once()[1])
        return
    results, text = once()
    result = results[0]
    if fmt in PER_SUBMISSION:
        writers: dict[str, Callable[[SubmissionResult], dict[str, Any]]] = {
            "gradescope": outputs.gradescope, "prairielearn": outputs.prairielearn, "github": outputs.github_classroom}
        document = writers[fmt](result)
        _write(output, json.dumps(document, indent=2) + "\n")
    elif fmt == "text":  # the terminal's: the Markdown feedback as plain text
        _write(output, text)
    else:
        _write(output, _render(results, fmt, feedback))
    if fmt == "prairielearn":
        sys.exit(0)  # PrairieLearn reads results only from a container that exits 0
    sys.exit(0 if result.all_passed else 1)


@cli.command("validate")
@click.argument("exercises", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--timeout", type=click.FloatRange(0.05, 600), default=2.0, show_default=True,
              help="Seconds of CPU time per call (a call that sleeps or waits: of wall clock).")
def validate_command(exercises: Path | None, timeout: float) -> None:
    """Prove exercises: schema, reference passes, each model is caught and diagnosed as itself.

    EXERCISES is a folder of YAML files or one file (default: ./exercises, else the built-in course).
    """
    from .validate import exercise_files, validate

    target = exercises or (Path("exercises") if Path("exercises").is_dir() else builtin_course())
    files = exercise_files(target)
    if not files:
        raise GraderError(f"{target}: no exercise files (*.yaml) found")
    ok, problems = validate(files, _options(timeout, 120.0, 1024, 1, None))
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {len(files) - len(ok)} of {len(files)} exercise files", err=True)
        sys.exit(1)
    click.echo(f"{len(ok)} exercises valid: {', '.join(ok)}")


@cli.command("quiz")
@click.argument("quiz_id", type=ExerciseId())
@click.option("--student", default="", help="Show the numbers drawn for this student id.")
@click.option("--exercises", "exercises_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of exercise YAML files (default: ./exercises if it exists, else the built-in course).")
def quiz_command(quiz_id: str, student: str, exercises_dir: Path | None) -> None:
    """Print a quiz as a student sees it (with that student's own numbers)."""

    bundle = None if exercises_dir else find_bundle(Path.cwd())
    if bundle is None and exercises_dir is None and not Path("exercises").is_dir():
        click.echo(BUILTIN_NOTICE, err=True)
    quiz = load_bundle(bundle, (quiz_id,)).exercises[0] if bundle else _load(exercises_dir, (quiz_id,))[0]
    if not isinstance(quiz, Quiz):
        raise GraderError(f"'{quiz_id}' is an exercise, not a quiz; `grade list` shows which is which")
    feedback = Feedback(None)
    values = quiz.draw(student)
    questions = []
    for q in quiz.questions:
        try:
            text = render_question(quiz, q, values, feedback.exercise_env)
        except jinja2.TemplateError as e:
            raise GraderError(f"{quiz.source_path}: question {q.id}: its text cannot be shown: "
                              f"{type(e).__name__}: {e}") from None
        questions.append({"id": q.id, "points": q.points, "type": q.type, "choices": q.choices, "text": text})
    kinds = {"single": "one choice id", "multiple": "a list of choice ids", "numeric": "a number", "vector": "a list of numbers"}
    click.echo(feedback.render("quiz.md.j2", quiz=quiz, questions=questions, student=student, kinds=kinds))


@cli.command("doctor")
def doctor() -> None:
    """Start one sandbox and say which isolation layers it has on this machine (exit 1 if any is missing)."""
    layers, missing = probe()
    for layer in layers:
        click.echo(f"✓ {layer}")
    for m in missing:
        click.echo(f"✗ {m}")
    uid = ("root: sandboxes drop to an unprivileged uid" if privileged()
           else "not root, or root without its capabilities: sandboxes keep your uid, in namespaces of their own")
    click.echo(f"{len(layers)} layers active, {len(missing)} missing ({uid})")
    sys.exit(1 if missing else 0)


@cli.command("results")
@click.argument("submissions", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The gradebook (default: gradebook.sqlite beside SUBMISSIONS, or in this folder).")
def results_command(submissions: Path | None, db_path: Path | None) -> None:
    """Print the gradebook: the latest result of every student."""
    path = db_path or (default_path(submissions) if submissions else Path("gradebook.sqlite"))
    if not path.is_file():
        raise GraderError(f"{path}: no gradebook here; name the submissions folder (its gradebook is beside it) or pass --db PATH")
    with Gradebook(path) as book:
        rows = list(book.latest())
    if not rows:
        click.echo(f"{path}: no graded submissions yet")
        return
    width = max(len(r.student) for r in rows)
    for r in rows:
        marks = "  ".join(f"{MARK[e.status]} {e.id}" for e in r.result.exercises)
        late = "  LATE" if r.late else ""
        click.echo(f"{r.student:<{width}}  {r.score:7.2f} / {r.max_score:<7g} {r.graded_at}{late}  {marks}")


@cli.command("report")
@click.argument("submissions", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The gradebook (default: gradebook.sqlite beside SUBMISSIONS, or in this folder).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report (HTML) to this file (default: standard output).")
@click.option("--feedback-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write every student's feedback pages here, and the report as index.html linking to them.")
@click.option("--templates", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Folder of Jinja2 templates overriding the built-in ones.")
def report_command(submissions: Path | None, db_path: Path | None, output: Path | None, feedback_dir: Path | None,
                   templates: Path | None) -> None:
    """The class report from the gradebook: score distribution, pass rates per exercise and check,
    misconceptions by how many students have them, timeouts and crashes, the run's metadata."""
    path = db_path or (default_path(submissions) if submissions else Path("gradebook.sqlite"))
    if not path.is_file():
        raise GraderError(f"{path}: no gradebook here; name the submissions folder (its gradebook is beside it) or pass --db PATH")
    feedback = Feedback(templates)
    with Gradebook(path) as book:
        run = {**book.last_run(), "gradebook": str(path)}
        text = class_report(feedback, (r.result for r in book.latest()), run, feedback_dir)
    if feedback_dir is not None:
        _write(feedback_dir / "index.html", text)
        click.echo(f"wrote {feedback_dir / 'index.html'} and every student's pages", err=True)
    if output is not None or feedback_dir is None:
        _write(output, text)


@cli.command("export")
@click.argument("submissions", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The gradebook (default: gradebook.sqlite beside SUBMISSIONS, or in this folder).")
@click.option("--format", "fmt", type=click.Choice(["canvas", "moodle", "csv"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the CSV to this file.")
@click.option("--roster", "roster_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The LMS's own export, to match students: Canvas's gradebook export (Grades → Export), "
                   "Moodle's grading worksheet (View all submissions → Download grading worksheet).")
@click.option("--skip", multiple=True, metavar="STUDENT", help="Leave this student (id as `grade results` shows it) "
              "out of the export (repeatable).")
@click.option("--assignment", help="Canvas: the assignment's title (its id and points are read from --roster).")
@click.option("--assignment-id", help="Canvas: the assignment's id (digits): the column `Title (id)` updates it.")
@click.option("--per-exercise", is_flag=True, help="Canvas: one column per exercise, titled like the exercise, "
              "instead of one column with the total.")
@click.option("--max-grade", type=click.FloatRange(0, min_open=True),
              help="The assignment's points in Canvas or maximum grade in Moodle, to scale the total to "
                   "(default: the roster's, else the points of the course).")
def export_command(submissions: Path | None, db_path: Path | None, fmt: str, output: Path | None,
                   roster_path: Path | None, skip: tuple[str, ...], assignment: str | None,
                   assignment_id: str | None, per_exercise: bool, max_grade: float | None) -> None:
    """Export the gradebook's latest results for an LMS: Canvas or Moodle CSV, or a plain CSV.

    Every row of a Canvas or Moodle export carries the student's id on that LMS (from its own
    download, or matched in --roster); a student without one is refused by name.
    """
    path = db_path or (default_path(submissions) if submissions else Path("gradebook.sqlite"))
    if not path.is_file():
        raise GraderError(f"{path}: no gradebook here; name the submissions folder (its gradebook is beside it) or pass --db PATH")
    if assignment_id is not None and not assignment_id.isdigit():
        raise click.BadParameter(f"'{assignment_id}' is not a Canvas assignment id (digits)", param_hint="--assignment-id")
    if fmt != "canvas" and (assignment or assignment_id or per_exercise):
        raise click.UsageError("--assignment, --assignment-id and --per-exercise are for --format canvas")
    if fmt == "csv" and (roster_path is not None or max_grade is not None):
        raise click.UsageError("--roster and --max-grade are for --format canvas or moodle")
    if per_exercise and (assignment or assignment_id or max_grade):
        raise click.UsageError("--per-exercise titles the columns by the exercises, in their points: "
                               "it takes no --assignment, --assignment-id or --max-grade")
    with Gradebook(path) as book:
        rows = list(book.latest())
    unknown = sorted(set(skip) - {r.student for r in rows})
    if unknown:
        raise GraderError(f"--skip {unknown[0]}: no such student in {path} (`grade results` lists them)")
    rows = [r for r in rows if r.student not in skip]
    if not rows:
        raise GraderError(f"{path}: no graded submissions to export")
    exercises = [(e.id, e.title, e.max_score) for e in rows[0].result.exercises]
    roster = read_roster(roster_path) if roster_path is not None else None
    people = identities(rows, roster, fmt) if roster is not None else None
    if fmt == "canvas":
        title, column_id, points = canvas_assignment(roster, assignment, assignment_id)
        text = outputs.canvas_csv(rows, exercises, identities=people, assignment=title, assignment_id=column_id,
                                  points=max_grade or points, per_exercise=per_exercise)
        if column_id is None:
            named = "one column per exercise" if per_exercise else f"the column {title or 'Grader'!r}"
            click.echo(f"grade: note: Canvas matches {named} by exact title, else creates a new assignment; "
                       "--assignment-id (or --assignment with --roster) updates an existing one", err=True)
    elif fmt == "moodle":
        course = sum(points for _, _, points in exercises)
        text = outputs.moodle_csv(rows, identities=people,
                                  max_grade=max_grade or (roster.max_grade if roster else None) or course)
    else:
        text = outputs.plain_csv(rows, exercises)
    _write(output, text)


@cli.command("release")
@click.argument("exercises_dir", metavar="EXERCISES", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The bundle's folder (new or empty).")
@click.option("-e", "--exercise", "exercise_ids", multiple=True, type=ExerciseId(), help="Only this exercise (repeatable).")
@click.option("--add", "extra", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file to hand out with the bundle (repeatable).")
@click.option("--title", default="", help="The bundle README's title.")
@click.option("--install", default="", metavar="REQUIREMENT",
              help="What the bundle's README tells students to `pip install` to get the grader (a path or URL).")
def release_command(exercises_dir: Path | None, output: Path, exercise_ids: tuple[str, ...], extra: tuple[Path, ...],
                    title: str, install: str) -> None:
    """Write a student bundle: prompts, starter files, public checks as data; no hidden checks,
    references or models. EXERCISES: default ./exercises, else the built-in course."""
    exercises = _load(exercises_dir, exercise_ids)
    files = release(exercises, output, extra, title, install)
    click.echo(f"wrote {output}: {len(exercises)} exercises, {len(files)} files; students run "
               f"`grade check FILE` in it")
    if not install:
        click.echo("grade: note: the README tells students to `pip install GRADER`, the grader you give them; "
                   "--install PATH-OR-URL writes it in", err=True)


@cli.command("new")
@click.argument("exercise_id", metavar="ID", type=ExerciseId())
@click.option("--course", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="The course folder: the files go to its exercises/, solutions/ and checks/.")
@click.option("--signature", default=None, help="The student's function, e.g. 'manhattan(a, b)' (default: ID(a, b)).")
def new_command(exercise_id: str, course: Path, signature: str | None) -> None:
    """Start an exercise: its YAML (commented), a reference to fill in and a custom check module."""
    for written in scaffold(exercise_id, course, signature):
        click.echo(f"wrote {written}")
    click.echo(f"fill in the reference, then run `grade validate {course / 'exercises'}`")


@cli.command("gradescope")
@click.argument("exercises", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="The autograder zip to upload to Gradescope.")
@click.option("-e", "--exercise", "exercise_ids", multiple=True, type=ExerciseId(), help="Only this exercise (repeatable).")
def gradescope_command(exercises: Path, output: Path, exercise_ids: tuple[str, ...]) -> None:
    """Build a Gradescope autograder zip for EXERCISES (setup.sh, run_autograder, the course)."""
    from .packaging import gradescope_zip

    ids = gradescope_zip(exercises, output, exercise_ids)
    click.echo(f"wrote {output}: {len(ids)} exercises ({', '.join(ids)}); upload it as the autograder")


@cli.command("list")
@click.option("--exercises", "exercises_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of exercise YAML files (default: ./exercises if it exists, else the built-in course).")
def list_exercises(exercises_dir: Path | None) -> None:
    """List the exercises: id, points, function, title."""
    for ex in _load(exercises_dir, ()):
        what = ex.function.signature if isinstance(ex, Exercise) else f"quiz, {len(ex.questions)} questions in {ex.answers_file}"
        click.echo(f"{ex.id:<24} {ex.points:>5g} pts  {what:<40} {ex.title}")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("grade: interrupted", err=True)
        sys.exit(130)
    except GraderError as e:
        click.echo(f"grade: error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("grade: interrupted", err=True)
        sys.exit(130)
