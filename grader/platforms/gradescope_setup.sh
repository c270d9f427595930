#!/usr/bin/env bash
# Gradescope runs this once, while it builds the autograder image (Ubuntu, as root).
# It installs grader and its dependencies into a virtual environment beside the source.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
# shellcheck disable=SC1091
[ -f "$SOURCE/grader.env" ] && . "$SOURCE/grader.env"
EXERCISES="$SOURCE/${GRADER_EXERCISES_REL:-exercises}"

PYTHON="$(command -v python3 || true)"
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  apt-get update -q
  apt-get install -y -q python3 python3-venv python3-pip
  PYTHON="$(command -v python3)"
fi

# GRADER_VENV_ARGS / GRADER_PIP_ARGS let a test reuse installed packages instead of downloading them.
# shellcheck disable=SC2086
"$PYTHON" -m venv ${GRADER_VENV_ARGS:-} "$ROOT/venv"
# shellcheck disable=SC2086
"$ROOT/venv/bin/python" -m pip install -q ${GRADER_PIP_ARGS:-} "$SOURCE/grader-src"
# the third-party packages the course's exercises let students import (their `packages:`)
if [ -n "${GRADER_PACKAGES:-}" ]; then
  # shellcheck disable=SC2086
  "$ROOT/venv/bin/python" -m pip install -q ${GRADER_PACKAGES_PIP_ARGS:-} $GRADER_PACKAGES
fi
"$ROOT/venv/bin/grade" list --exercises "$EXERCISES" > /dev/null
cp "$SOURCE/run_autograder" "$ROOT/run_autograder" 2>/dev/null || true
echo "grader installed in $ROOT/venv"
