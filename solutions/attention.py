"""Reference `attention(Q, K, V, mask=None)` and the misconception models of `attention`.

Trusted, teacher-only code. Each model is the reference with exactly one idea changed. Every
model keeps the shape checks, the scale 1/sqrt(d_k) and the numerically stable softmax (the
row maximum is subtracted before `exp`) unless that is its own idea, and every model that is
not about the mask applies the mask the right way: blocked scores become -inf before the
softmax, so their weights are exactly 0.

The shipped cases give every mask row at least one True and one False, and every mask column
at least one True, so that no model ever takes the softmax of a fully blocked row or column
(where -inf, -1e9 and additive masks would each give a different answer).
"""

import numpy as np


def _matrices(Q, K, V):
    """Q (n_q, d_k), K (n_k, d_k), V (n_k, d_v) as float64 arrays, else ValueError."""
    Q, K, V = (np.asarray(x, dtype=np.float64) for x in (Q, K, V))
    if Q.ndim != 2 or K.ndim != 2 or V.ndim != 2:
        raise ValueError(f"Q, K and V must be 2-D, got shapes {Q.shape}, {K.shape}, {V.shape}")
    if Q.shape[1] != K.shape[1]:
        raise ValueError(f"Q and K need the same number of columns d_k, got {Q.shape[1]} and {K.shape[1]}")
    if K.shape[0] != V.shape[0]:
        raise ValueError(f"K and V need the same number of rows n_k, got {K.shape[0]} and {V.shape[0]}")
    return Q, K, V


def _mask(mask, Q, K):
    """The mask as a boolean (n_q, n_k) array, or None."""
    if mask is None:
        return None
    m = np.asarray(mask, dtype=bool)
    if m.shape != (Q.shape[0], K.shape[0]):
        raise ValueError(f"mask must have shape {(Q.shape[0], K.shape[0])}, got {m.shape}")
    return m


def _scores(Q, K):
    """Q K^T / sqrt(d_k)."""
    return Q @ K.T / np.sqrt(Q.shape[1])


def _block(scores, mask):
    """Blocked scores (mask False) become -inf; no mask leaves them unchanged."""
    return scores if mask is None else np.where(mask, scores, -np.inf)


def _softmax(s, axis=-1):
    """Stable softmax: exp(s - max) / sum. -inf entries give weight exactly 0."""
    e = np.exp(s - np.max(s, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _weights(Q, K, mask):
    """The right attention weights: softmax over the keys of the masked, scaled scores."""
    return _softmax(_block(_scores(Q, K), mask), axis=-1)


def attention(Q, K, V, mask=None):
    """Reference: softmax(Q K^T / sqrt(d_k) with blocked scores at -inf, over the keys) V."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    return _weights(Q, K, m) @ V


def softmax_over_queries(Q, K, V, mask=None):
    """Model softmax-over-queries: the softmax normalises each column (axis 0), not each row."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    return _softmax(_block(_scores(Q, K), m), axis=0) @ V


def missing_scale(Q, K, V, mask=None):
    """Model missing-scale: softmax of Q K^T, not divided by sqrt(d_k)."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    return _softmax(_block(Q @ K.T, m), axis=-1) @ V


def unnormalized_weights(Q, K, V, mask=None):
    """Model unnormalized-weights: the scaled scores used as weights (no softmax); blocked keys get weight 0."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    s = _scores(Q, K)
    if m is not None:
        s = np.where(m, s, 0.0)
    return s @ V


def unnormalized_weights_fill(Q, K, V, mask=None):
    """Model unnormalized-weights: blocked scores filled with -1e9 as for a softmax, then no softmax."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    s = _scores(Q, K)
    if m is not None:
        s = np.where(m, s, -1e9)
    return s @ V


def unnormalized_weights_inf(Q, K, V, mask=None):
    """Model unnormalized-weights: blocked scores set to -inf as for a softmax, then no softmax (inf/nan)."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    s = _block(_scores(Q, K), m)
    with np.errstate(invalid="ignore", over="ignore"):
        # term by term, as IEEE arithmetic gives it: -inf * 0 is nan, inf + -inf is nan
        return np.sum(s[:, :, None] * V[None, :, :], axis=1)


def mask_after_softmax(Q, K, V, mask=None):
    """Model mask-after-softmax: softmax over all keys, then blocked weights set to 0 (rows no longer sum to 1)."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    w = _softmax(_scores(Q, K), axis=-1)
    if m is not None:
        w = np.where(m, w, 0.0)
    return w @ V


def mask_after_softmax_inf(Q, K, V, mask=None):
    """Model mask-after-softmax: softmax over all keys, then blocked weights set to -inf, so every
    output entry of a masked row is ±inf or nan (-inf * v, -inf * 0 and inf - inf)."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    w = _softmax(_scores(Q, K), axis=-1)
    if m is None:
        return w @ V
    w = np.where(m, w, -np.inf)
    with np.errstate(invalid="ignore", over="ignore"):
        # term by term, as IEEE arithmetic gives it (as in unnormalized_weights_inf)
        return np.sum(w[:, :, None] * V[None, :, :], axis=1)


def mask_ignored(Q, K, V, mask=None):
    """Model mask-ignored: the mask is accepted but never used."""
    Q, K, V = _matrices(Q, K, V)
    _mask(mask, Q, K)
    return _weights(Q, K, None) @ V


def inverted_mask(Q, K, V, mask=None):
    """Model inverted-mask: blocks the keys where the mask is True and attends where it is False."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    return _weights(Q, K, None if m is None else ~m) @ V


def mask_as_multiplier(Q, K, V, mask=None):
    """Model mask-as-multiplier: scores * mask before the softmax, so blocked keys get score 0, weight exp(0 - max)."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    s = _scores(Q, K)
    if m is not None:
        s = s * m
    return _softmax(s, axis=-1) @ V


def returns_weights(Q, K, V, mask=None):
    """Model returns-weights: returns the (n_q, n_k) attention weights instead of weights @ V."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    return _weights(Q, K, m)


def _pipeline(Q, K, V, mask=None, *, scale=True, axis=-1, masking="block", output="values"):
    """The reference with some steps changed: scale (False: no 1/sqrt(d_k)), the softmax's axis,
    masking (block | ignored | inverted | multiply | after) and the output (values | weights)."""
    Q, K, V = _matrices(Q, K, V)
    m = _mask(mask, Q, K)
    if m is not None and masking == "ignored":
        m = None
    if m is not None and masking == "inverted":
        m = ~m
    s = _scores(Q, K) if scale else Q @ K.T
    if m is not None and masking == "multiply":
        s = s * m
    elif masking != "after":
        s = _block(s, m)
    w = _softmax(s, axis=axis)
    if m is not None and masking == "after":
        w = np.where(m, w, 0.0)
    return w if output == "weights" else w @ V


_CHANGES = {
    "softmax_over_queries": {"axis": 0},
    "missing_scale": {"scale": False},
    "mask_after_softmax": {"masking": "after"},
    "mask_ignored": {"masking": "ignored"},
    "inverted_mask": {"masking": "inverted"},
    "mask_as_multiplier": {"masking": "multiply"},
    "returns_weights": {"output": "weights"},
}


def compose(first, second):
    """Two models applied together, for the diagnosis of two mistakes at once: the reference
    with both models' changed steps. None when they change the same step."""
    a, b = _CHANGES.get(first), _CHANGES.get(second)
    if a is None or b is None or set(a) & set(b):
        return None
    changes = {**a, **b}
    return lambda Q, K, V, mask=None: _pipeline(Q, K, V, mask, **changes)
