"""Reference `cosine_similarity(a, b)` and the misconception models of `cosine-similarity`.

Trusted, teacher-only code. Each model is the reference with exactly one idea changed. All
models keep the length check (ValueError on different lengths), and all but the two
`zero_vector_*` models keep the rule "an all-zero vector gives 0.0", so that each differs
from the reference only by its own idea.
"""

import contextvars

import numpy as np


def _vector(x):
    """One argument (list or array) as a 1-D float64 array, else ValueError."""
    v = np.asarray(x, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"expected a 1-D vector, got an array of shape {v.shape}")
    return v


def _vectors(a, b):
    """Both arguments as 1-D float64 arrays of equal length, else ValueError."""
    a, b = _vector(a), _vector(b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    return a, b


_UNGUARDED: contextvars.ContextVar[bool] = contextvars.ContextVar("unguarded", default=False)


def _zero_guard(na, nb):
    """A model's rule "an all-zero vector gives 0.0": applies, unless the model runs composed
    with zero-vector-nan (then numpy's 0/0 gives nan)."""
    return (na == 0 or nb == 0) and not _UNGUARDED.get()


def _norms(a, b):
    """The L2 lengths ||a|| and ||b||."""
    return np.linalg.norm(a), np.linalg.norm(b)


def cosine_similarity(a, b):
    """Reference: a.b / (||a|| ||b||) clipped to [-1, 1]; 0.0 if either vector is all zeros."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if na == 0 or nb == 0:
        return 0.0
    return float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))


def unnormalized_dot(a, b):
    """Model unnormalized-dot: returns the raw dot product a.b, no division by the lengths."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.dot(a, b))


def one_sided_normalization_a(a, b):
    """Model one-sided-normalization: divides by ||a|| only, a.b / ||a||."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.dot(a, b) / na)


def one_sided_normalization_b(a, b):
    """Model one-sided-normalization: divides by ||b|| only, a.b / ||b||."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.dot(a, b) / nb)


def squared_norms(a, b):
    """Model squared-norms: divides by the squared lengths, a.b / (||a||**2 ||b||**2)."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.dot(a, b) / (na**2 * nb**2))


def angle_radians(a, b):
    """Model angle-instead-of-cosine: returns the angle arccos(cos) in radians."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0)))


def angle_degrees(a, b):
    """Model angle-instead-of-cosine: returns the angle arccos(cos) in degrees."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))))


def cosine_distance(a, b):
    """Model cosine-distance: returns 1 - cos, a distance in [0, 2], not the similarity."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(1.0 - np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))


def l1_norms(a, b):
    """Model l1-norms: divides by the L1 lengths, a.b / (sum|a| * sum|b|)."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.dot(a, b) / (np.sum(np.abs(a)) * np.sum(np.abs(b))))


def elementwise_product(a, b):
    """Model elementwise-product: returns the vector a*b / (||a|| ||b||), never summed."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return a * b / (na * nb)


def euclidean_distance(a, b):
    """Model euclidean-distance: returns the distance ||a - b|| instead of the cosine."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.linalg.norm(a - b))


def zero_vector_nan(a, b):
    """Model zero-vector-nan: no zero-vector guard, so numpy's 0/0 returns nan."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.dot(a, b) / (na * nb)
    return float(np.clip(cos, -1.0, 1.0))


def zero_vector_zero_division(a, b):
    """Model zero-vector-nan: no zero-vector guard, so Python division raises ZeroDivisionError."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    cos = float(np.dot(a, b)) / (float(na) * float(nb))
    return float(np.clip(cos, -1.0, 1.0))


def wrong_operand_norm_a(a, b):
    """Model wrong-operand-norm: uses ||a|| twice, a.b / (||a|| ||a||)."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.dot(a, b) / (na * na))


def wrong_operand_norm_b(a, b):
    """Model wrong-operand-norm: uses ||b|| twice, a.b / (||b|| ||b||)."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.dot(a, b) / (nb * nb))


def precedence_slip(a, b):
    """Model precedence-slip: a.b / ||a|| * ||b||, so the second length multiplies."""
    a, b = _vectors(a, b)
    na, nb = _norms(a, b)
    if _zero_guard(na, nb):
        return 0.0
    return float(np.dot(a, b) / na * nb)


_ZERO_MODELS = ("zero_vector_nan", "zero_vector_zero_division")


def compose(first, second):
    """Two models applied together, for the diagnosis of two mistakes at once: a model composed
    with zero-vector-nan is that model without its zero-vector guard. None for other pairs."""
    for zero, other in ((first, second), (second, first)):
        model = globals().get(other)
        if zero in _ZERO_MODELS and other not in _ZERO_MODELS and callable(model) and other != "cosine_similarity":
            return lambda a, b: _unguarded(model, a, b)
    return None


def _unguarded(model, a, b):
    token = _UNGUARDED.set(True)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            return model(a, b)
    finally:
        _UNGUARDED.reset(token)
