#!/usr/bin/env bash
# PrairieLearn external grader entrypoint ("entrypoint" in the question's info.json).
# The student's files are in /grade/student; results must go to /grade/results/results.json,
# and the container must exit 0 for PrairieLearn to read them.
set -uo pipefail
ROOT="${PL_GRADE_ROOT:-/grade}"
EXERCISES="${GRADER_EXERCISES:-$ROOT/serverFilesCourse/exercises}"
GRADE="${GRADER_COMMAND:-grade}"
mkdir -p "$ROOT/results"
select=()
if [ -n "${GRADER_EXERCISE:-}" ]; then
  select=(-e "$GRADER_EXERCISE")
fi
"$GRADE" check "$ROOT/student" --exercises "$EXERCISES" "${select[@]}" \
  --format prairielearn -o "$ROOT/results/results.json"
status=$?
if [ "$status" -gt 1 ] || [ ! -s "$ROOT/results/results.json" ]; then
  printf '{"gradable": false, "format_errors": ["the grader could not run (exit status %s)"]}\n' "$status" > "$ROOT/results/results.json"
fi
exit 0
