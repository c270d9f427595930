"""Reference `softmax(x, axis=-1)` and the misconception models of `softmax`.

Trusted, teacher-only code. Each model is the reference with exactly one idea changed: all
of them convert the input to float64 first (as the reference does) and keep everything else,
so that each differs from the reference only by its own idea. Models that legitimately
overflow (no max subtraction, exp without normalisation, sigmoid) compute under
`np.errstate` and return the nan/inf numpy produces, as a student's numpy code would.
"""

import math

import numpy as np


def _array(x):
    """The argument (list or array, any numeric dtype) as a float64 array."""
    return np.asarray(x, dtype=np.float64)


def softmax(x, axis=-1):
    """Reference: exp(x - max) / sum(exp(x - max)) along `axis`, same shape as x, float64."""
    x = _array(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _softmax_along(x, axis):
    """The reference's computation along a fixed axis (for the axis models)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def wrong_axis(x, axis=-1):
    """Model wrong-axis: always normalises along axis 0 (down the columns of a matrix)."""
    return _softmax_along(_array(x), 0)


def wrong_axis_global_max(x, axis=-1):
    """Model wrong-axis: the well-known snippet `e = np.exp(x - np.max(x)); e / e.sum(axis=0)`:
    columns, shifted by the maximum of the whole array (a column far below it gives 0 / 0)."""
    x = _array(x)
    e = np.exp(x - np.max(x))
    with np.errstate(invalid="ignore", divide="ignore"):
        return e / np.sum(e, axis=0, keepdims=True)


def ignored_axis_argument(x, axis=-1):
    """Model ignored-axis-argument: always the last axis, whatever `axis` says."""
    return _softmax_along(_array(x), -1)


def ignored_axis_argument_axis1(x, axis=-1):
    """Model ignored-axis-argument: `axis=1` written into the code. On 1-D input numpy raises
    AxisError, a ValueError; the model raises ValueError, which matches AxisError and also what a
    hidden call keeps of it (its built-in classes)."""
    x = _array(x)
    if x.ndim < 2:
        raise ValueError(f"axis 1 is out of bounds for array of dimension {x.ndim}")
    return _softmax_along(x, 1)


def global_normalization(x, axis=-1):
    """Model global-normalization: one max and one sum over all elements, no axis."""
    x = _array(x)
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def global_normalization_axis_max(x, axis=-1):
    """Model global-normalization: max along the axis, but the sum over all elements."""
    x = _array(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e)


def missing_max_subtraction(x, axis=-1):
    """Model missing-max-subtraction: exp(x) / sum(exp(x)); exp overflows to inf, inf/inf is nan."""
    x = _array(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(x)
        return e / np.sum(e, axis=axis, keepdims=True)


def global_max_subtraction(x, axis=-1):
    """Model global-max-subtraction: shifted by the maximum of the whole array, not along the
    axis, so a row far below that maximum underflows to all zeros and gives 0 / 0 = nan."""
    x = _array(x)
    e = np.exp(x - np.max(x))
    with np.errstate(invalid="ignore", divide="ignore"):
        return e / np.sum(e, axis=axis, keepdims=True)


def _rows_along(x, axis):
    """x with `axis` moved last, as a list of 1-D rows, and a function putting rows back."""
    moved = np.moveaxis(x, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1]) if moved.ndim else moved.reshape(1, 1)

    def back(values):
        return np.moveaxis(np.asarray(values, dtype=np.float64).reshape(moved.shape), -1, axis)

    return [list(r) for r in rows], back


def missing_max_subtraction_math(x, axis=-1):
    """Model missing-max-subtraction: `math.exp` per element without the shift, so exp of a
    large logit raises OverflowError (and a row that underflows to all zeros divides by zero)."""
    x = _array(x)
    rows, back = _rows_along(x, axis)
    out = []
    for row in rows:
        exps = [math.exp(v) for v in row]
        total = sum(exps)
        out.append([v / total for v in exps])
    return back(out)


def missing_exp(x, axis=-1):
    """Model missing-exp: x / sum(x) along the axis, no exponential."""
    x = _array(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x / np.sum(x, axis=axis, keepdims=True)


def missing_normalization(x, axis=-1):
    """Model missing-normalization: returns exp(x), never divided by the sum."""
    with np.errstate(over="ignore"):
        return np.exp(_array(x))


def missing_normalization_shifted(x, axis=-1):
    """Model missing-normalization: returns exp(x - max) along the axis, never divided by the sum."""
    x = _array(x)
    return np.exp(x - np.max(x, axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    """Model log-softmax: (x - max) - log(sum(exp(x - max))), the log of the probabilities."""
    x = _array(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def sigmoid(x, axis=-1):
    """Model sigmoid: 1 / (1 + exp(-x)) for each element on its own, no normalisation."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-_array(x)))


def missing_keepdims(x, axis=-1):
    """Model missing-keepdims: max and sum along the axis without keepdims, so on a matrix
    the row results broadcast along the wrong axis (ValueError if the shapes do not fit)."""
    x = _array(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(x - np.max(x, axis=axis))
        return e / np.sum(e, axis=axis)


def missing_keepdims_sum(x, axis=-1):
    """Model missing-keepdims: the max keeps its dims, the sum does not."""
    x = _array(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return e / np.sum(e, axis=axis)


_AXIS_MODELS = {"wrong_axis": 0, "ignored_axis_argument": -1, "ignored_axis_argument_axis1": 1}


def compose(first, second):
    """Two models applied together, for the diagnosis of two mistakes at once: a model that
    fixes the axis (wrong-axis, ignored-axis-argument) composes with any other model by calling
    it on that axis. None when the pair does not compose."""
    for fixed, other in ((first, second), (second, first)):
        model = globals().get(other)
        if fixed in _AXIS_MODELS and other not in _AXIS_MODELS and callable(model) and other != "softmax":
            return lambda x, axis=-1: model(x, _AXIS_MODELS[fixed])
    return None
