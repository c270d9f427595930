"""Reference `l2_normalize(x)` and the misconception models of the `l2-normalize` exercise.

Trusted, teacher-only code. Each model is the reference with one idea changed. A 1-D x is one
vector; a 2-D x is a stack of row vectors, each divided by its own length, so that every
non-zero row comes out with length 1 and an all-zero row stays all zeros.

Most mistakes divide by the wrong denominator. A student who makes one may or may not also
keep the contract's zero-row rule, so those models come in variants:
  - `<name>`: keeps the rule (a zero denominator is replaced by 1, so zero rows stay zero),
  - `<name>_nan`: no guard, numpy's 0/0 gives nan (and x/0 gives ±inf),
  - `<name>_zero_division` (column-wise and global-norm only): no guard, plain Python floats
    raise ZeroDivisionError.
Only global-norm lists its variants under its own id. For the others, no guard is a second
mistake: `compose` pairs `<name>` with a `zero-vector-nan` model as `<name>_nan`, so such a
student is named with both (nan and ZeroDivisionError count as the same outcome).
Where a model's denominator can vanish for a non-zero row (a row summing to 0, a row whose
maximum is 0, a constant row for min-max scaling), the cases avoid such rows.
"""

import numpy as np


def _array(x):
    """The argument (list or array) as a 1-D or 2-D float64 array, else ValueError."""
    v = np.asarray(x, dtype=np.float64)
    if v.ndim not in (1, 2):
        raise ValueError(f"expected a vector or a matrix, got an array of shape {v.shape}")
    return v


def _divide(numerator, denominator, zero="guard"):
    """numerator / denominator (broadcast); how a zero denominator is treated is `zero`:
    'guard' divides by 1 instead, 'nan' lets numpy give nan/inf, 'raise' raises
    ZeroDivisionError as plain Python division does."""
    denominator = np.asarray(denominator, dtype=np.float64)
    if zero == "guard":
        return numerator / np.where(denominator == 0, 1.0, denominator)
    if zero == "raise" and np.any(denominator == 0):
        raise ZeroDivisionError("float division by zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator / denominator


def _row_norms(x):
    """The L2 length of each row (of the vector, for 1-D x), keeping the axis: shape (n, 1) or (1,)."""
    return np.sqrt(np.sum(x * x, axis=-1, keepdims=True))


def l2_normalize(x):
    """Reference: x / ||x|| for a vector, each row / its own L2 length for a matrix; zero rows stay zero."""
    x = _array(x)
    return _divide(x, _row_norms(x))


# --------------------------------------------------------------------------- l1-normalization


def _l1(x, zero):
    x = _array(x)
    return _divide(x, np.sum(np.abs(x), axis=-1, keepdims=True), zero)


def l1_normalization(x):
    """Model l1-normalization: divides each row by its L1 length sum|x|."""
    return _l1(x, "guard")


def l1_normalization_nan(x):
    """Model l1-normalization, no zero-row guard (nan for zero rows)."""
    return _l1(x, "nan")


# --------------------------------------------------------------------------- sum-normalization


def _sum(x, zero):
    x = _array(x)
    return _divide(x, np.sum(x, axis=-1, keepdims=True), zero)


def sum_normalization(x):
    """Model sum-normalization: divides each row by its signed sum, so the row sums to 1."""
    return _sum(x, "guard")


def sum_normalization_nan(x):
    """Model sum-normalization, no zero-row guard (nan for zero rows)."""
    return _sum(x, "nan")


# --------------------------------------------------------------------------- max-normalization


def _max_abs(x, zero):
    x = _array(x)
    return _divide(x, np.max(np.abs(x), axis=-1, keepdims=True), zero)


def _max(x, zero):
    x = _array(x)
    return _divide(x, np.max(x, axis=-1, keepdims=True), zero)


def max_abs_normalization(x):
    """Model max-normalization: divides each row by its largest absolute value max|x|."""
    return _max_abs(x, "guard")


def max_abs_normalization_nan(x):
    """Model max-normalization by max|x|, no zero-row guard (nan for zero rows)."""
    return _max_abs(x, "nan")



def max_normalization(x):
    """Model max-normalization: divides each row by its largest value max(x) (signed)."""
    return _max(x, "guard")


def max_normalization_nan(x):
    """Model max-normalization by max(x), no zero-row guard (nan for zero rows)."""
    return _max(x, "nan")


# --------------------------------------------------------------------------- min-max-scaling


def _min_max(x, zero):
    x = _array(x)
    lo = np.min(x, axis=-1, keepdims=True)
    hi = np.max(x, axis=-1, keepdims=True)
    return _divide(x - lo, hi - lo, zero)


def min_max_scaling(x):
    """Model min-max-scaling: (x - min) / (max - min) per row, values in [0, 1]."""
    return _min_max(x, "guard")


def min_max_scaling_nan(x):
    """Model min-max-scaling, no guard for a zero range (nan for zero rows)."""
    return _min_max(x, "nan")


# --------------------------------------------------------------------------- squared-norm


def _squared(x, zero):
    x = _array(x)
    return _divide(x, np.sum(x * x, axis=-1, keepdims=True), zero)


def squared_norm(x):
    """Model squared-norm: divides each row by its squared length ||x||**2 (no square root)."""
    return _squared(x, "guard")


def squared_norm_nan(x):
    """Model squared-norm, no zero-row guard (nan for zero rows)."""
    return _squared(x, "nan")


# --------------------------------------------------------------------------- column-wise


def _columns(x, zero):
    x = _array(x)
    return _divide(x, np.sqrt(np.sum(x * x, axis=0, keepdims=True)), zero)


def column_wise(x):
    """Model column-wise: lengths taken over axis 0, so each column (not row) gets length 1.
    A vector has only axis 0, so vectors come out right."""
    return _columns(x, "guard")


def column_wise_nan(x):
    """Model column-wise, no guard for zero columns (nan)."""
    return _columns(x, "nan")


def column_wise_zero_division(x):
    """Model column-wise, no guard for zero columns (ZeroDivisionError)."""
    return _columns(x, "raise")


# --------------------------------------------------------------------------- global-norm


def _global(x, zero):
    x = _array(x)
    return _divide(x, np.sqrt(np.sum(x * x)), zero)


def global_norm(x):
    """Model global-norm: the whole matrix divided by one length, sqrt of the sum of all squares.
    Vectors come out right."""
    return _global(x, "guard")


def global_norm_nan(x):
    """Model global-norm, no guard for an all-zero input (nan)."""
    return _global(x, "nan")


def global_norm_zero_division(x):
    """Model global-norm, no guard for an all-zero input (ZeroDivisionError)."""
    return _global(x, "raise")


# --------------------------------------------------------------------------- missing-keepdims


def _no_keepdims(x, zero):
    x = _array(x)
    norms = np.sqrt(np.sum(x * x, axis=-1))  # shape (n,): broadcasts along the last axis
    return _divide(x, norms, zero)  # (n, d) / (n,): ValueError unless d == n (or n == 1)


def missing_keepdims(x):
    """Model missing-keepdims: row lengths of shape (n,) divide x along the last axis, so
    x[i, j] / ||row j||: numpy's ValueError when n != d, silently wrong when n == d."""
    return _no_keepdims(x, "guard")


def missing_keepdims_nan(x):
    """Model missing-keepdims, no zero-row guard (inf/nan in the column of a zero row)."""
    return _no_keepdims(x, "nan")


# --------------------------------------------------------------------------- returns-norm


def returns_norm(x):
    """Model returns-norm: returns the lengths (a number for a vector, shape (n,) for a matrix)."""
    x = _array(x)
    return np.sqrt(np.sum(x * x, axis=-1))


def returns_norm_keepdims(x):
    """Model returns-norm: returns the lengths with the axis kept (shape (1,) or (n, 1))."""
    x = _array(x)
    return _row_norms(x)


# --------------------------------------------------------------------------- zero-vector-nan


def zero_vector_nan(x):
    """Model zero-vector-nan: no zero-row guard, so numpy's 0/0 gives nan for zero rows."""
    x = _array(x)
    return _divide(x, _row_norms(x), "nan")


def zero_vector_zero_division(x):
    """Model zero-vector-nan: no zero-row guard, so plain Python division raises ZeroDivisionError."""
    x = _array(x)
    return _divide(x, _row_norms(x), "raise")


def zero_vector_python_loop(x):
    """Model zero-vector-nan: no zero-row guard in plain-Python loops, `v / length` entry by entry.
    Python numbers (list input) raise ZeroDivisionError; numpy scalars (the entries of an array
    input) give nan with a warning instead, so the outcome depends on how x arrives."""
    if isinstance(x, np.ndarray):
        return zero_vector_nan(x)
    return zero_vector_zero_division(x)


# --------------------------------------------------------------------------- mutates-input


def mutates_input(x):
    """Model mutates-input: divides in place. `np.asarray` does not copy a float64 array, so the
    caller's array is overwritten (lists and integer arrays are copied and stay intact). The
    values are right: only the engine's mutation check tells this model apart."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"expected a vector or a matrix, got an array of shape {x.shape}")
    norms = _row_norms(x)
    x /= np.where(norms == 0, 1.0, norms)
    return x


# --------------------------------------------------------------------------- two mistakes at once

_COLUMN_MODELS = ("column_wise", "column_wise_nan", "column_wise_zero_division")


_NO_GUARD = ("zero_vector_nan", "zero_vector_zero_division", "zero_vector_python_loop")


def compose(first, second):
    """Two models applied together, for the diagnosis of two mistakes at once: a model with no
    zero-row guard composes with another one as that one's `<name>_nan` variant; a column-wise
    model composes with a row-wise one by applying that one to the columns (the transpose).
    None when the pair does not compose."""
    for unguarded, other in ((first, second), (second, first)):
        variant = globals().get(f"{other}_nan")
        if unguarded in _NO_GUARD and callable(variant):
            return variant
    for columns, other in ((first, second), (second, first)):
        model = globals().get(other)
        if columns in _COLUMN_MODELS and other not in _COLUMN_MODELS and callable(model) and other != "l2_normalize":
            return lambda x: _on_columns(model, x)
    return None


def _on_columns(model, x):
    """A row-wise model applied to the columns of a matrix (a vector is its own column)."""
    x = _array(x)
    return model(x) if x.ndim == 1 else np.asarray(model(x.T)).T
