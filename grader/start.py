"""The `grade` command's entry point: what must happen before the grader imports itself."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "check":
        # The student's wait: the zygote's interpreter loads numpy while this one imports pytest,
        # numpy and the exercises (one submission needs a sandbox at once; a class's workers start
        # their own).
        from .sandbox import launch

        launch.start_early()
    from .cli import main as cli_main

    cli_main()
