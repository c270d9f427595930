"""`python -m grader` is the `grade` command."""

from .start import main

main()
