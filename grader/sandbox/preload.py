"""What a sandbox's process imports before any student code: once, in a zygote, for all its sandboxes."""

from __future__ import annotations

import importlib

# What a student may reasonably import. Imported once before any sandbox starts, so no sandbox pays for it, and so it
# stays importable after the uid drop (the interpreter may live in a home folder the sandbox's
# uid cannot read). Not numpy.testing, numpy.ma, numpy.polynomial or unittest: a solution rarely
# imports them, and they are a quarter of the zygote's private memory, which every sandbox pays
# for in its fork and its exit (a sandbox that wants one imports it itself).
PRELOAD = ("abc", "array", "bisect", "cmath", "collections", "collections.abc", "contextlib", "copy", "csv",
           "dataclasses", "datetime", "decimal", "encodings.idna", "enum", "fractions", "functools", "glob",
           "hashlib", "heapq", "io", "itertools", "json", "math", "mmap", "numbers", "operator", "pathlib",
           "pprint", "random", "re", "statistics", "string", "struct", "textwrap", "time", "traceback", "types",
           "typing", "warnings", "numpy", "numpy.linalg", "numpy.random", "numpy.fft",
           "numpy.char", "numpy.rec", "numpy.strings", "numpy.exceptions", "numpy.dtypes",
           "numpy.lib.stride_tricks")
# The sandbox runtime itself and its layers
RUNTIME = ("grader.sandbox.isolation", "grader.sandbox.runtime", "pyseccomp")


def preload() -> None:
    """Import what every sandbox of this process needs, and warm numpy's first calls."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    np = importlib.import_module("numpy")
    for name in RUNTIME:  # by name: the runtime imports this module (its own start-up), not the reverse
        try:
            importlib.import_module(name)
        except (ImportError, OSError):
            pass  # pyseccomp missing: the sandbox says so
    np.linalg.norm(np.ones(2))
    np.einsum("i,i->", np.ones(2), np.ones(2))
    np.random.default_rng(0)
