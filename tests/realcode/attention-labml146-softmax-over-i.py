"""DDPM U-Net self-attention written with einsum, softmax over dim 1 (the query index i).

source: https://github.com/labmlai/annotated_deep_learning_paper_implementations/issues/146
diagnosis: maintainer: you are right, a typo and a big bug; the softmax must run over j (the keys), attn.softmax(dim=2)
exercise: attention
label: softmax-over-queries
"""
import numpy as np


def attention(Q, K, V, mask=None):
    q = np.asarray(Q, dtype=float)
    k = np.asarray(K, dtype=float)
    v = np.asarray(V, dtype=float)
    attn = np.einsum("id,jd->ij", q, k) * q.shape[1] ** -0.5
    if mask is not None:
        attn = np.where(np.asarray(mask, dtype=bool), attn, -np.inf)
    attn = np.exp(attn - attn.max(axis=0, keepdims=True))
    attn = attn / attn.sum(axis=0, keepdims=True)
    return np.einsum("ij,jd->id", attn, v)
