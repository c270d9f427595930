"""grader: sandboxed, pytest-driven grading of vector-similarity exercises with misconception feedback."""

__version__ = "0.1.0"
DISTRIBUTION = "vecgrader"  # the name pip knows it by; the package imports as `grader`
