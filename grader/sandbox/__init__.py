"""The sandbox: where student code runs, and the grader's side of it.

launch starts sandboxes (from the zygote, or as fresh interpreters), runtime runs inside one,
isolation and seccomp are its layers, host talks to one, encoding and protocol carry values.
"""
