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
errors="$(mktemp)"
"$GRADE" check "$ROOT/student" --exercises "$EXERCISES" "${select[@]}" \
  --format prairielearn -o "$ROOT/results/results.json" 2> "$errors"
status=$?
if [ "$status" -gt 1 ] || [ ! -s "$ROOT/results/results.json" ]; then
  # the reason is grade's last line on stderr (its one-line error), in PrairieLearn's own words
  python3 - "$status" "$errors" > "$ROOT/results/results.json" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[2], errors="replace").read().splitlines() if l.strip()]
why = lines[-1].strip()[:1000] if lines else f"grade exited with status {sys.argv[1]}"
text = f"the grader could not run: {why}"
print(json.dumps({"gradable": False, "format_errors": [text], "message": text}))
PY
fi
cat "$errors" >&2  # what grade said stays in the grading job's log
rm -f "$errors"
exit 0
