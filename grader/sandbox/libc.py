"""The C library, found once per process."""

from __future__ import annotations

import ctypes
import ctypes.util

_LIBC: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    """The C library, found once per process (a zygote finds it for all its sandboxes: finding
    it runs a program, which a sandbox could not and should not do)."""
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _LIBC
