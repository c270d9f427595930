"""timm's Eva attention (non-fused path): softmax first, then blocked weights filled with -inf.

source: https://github.com/huggingface/pytorch-image-models/pull/2236
diagnosis: the mask should be applied before the softmax; maintainer: weird, wonder how that happened
exercise: attention
label: mask-after-softmax
"""
import numpy as np


def attention(Q, K, V, mask=None):
    q = np.asarray(Q, dtype=float)
    k = np.asarray(K, dtype=float)
    v = np.asarray(V, dtype=float)
    q = q * q.shape[1] ** -0.5
    attn = q @ k.T
    attn = np.exp(attn - attn.max(axis=-1, keepdims=True))
    attn = attn / attn.sum(axis=-1, keepdims=True)
    if mask is not None:
        keep = np.asarray(mask, dtype=bool)
        attn = np.where(keep, attn, -np.inf)
    with np.errstate(invalid="ignore"):
        return attn @ v
