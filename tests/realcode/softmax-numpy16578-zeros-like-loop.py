"""A stable per-row loop that fills a buffer made with np.zeros_like(x).

source: https://github.com/numpy/numpy/issues/16578
diagnosis: maintainers: zeros_like keeps the input's dtype, so an int64 input gives an int64 buffer and assigned floats are truncated
exercise: softmax
label: integer-truncation
also: integer-wraparound
"""
import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x)
    out = np.zeros_like(x)
    view_in = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    view_out = np.moveaxis(out, axis, -1)
    flat = view_out.reshape(-1, x.shape[axis])
    for i, row in enumerate(view_in):
        e = np.exp(row - row.max())
        flat[i] = e / e.sum()
    return np.moveaxis(flat.reshape(view_out.shape), -1, axis)
