"""`normalize_embeddings` that assigns the norms to the embeddings instead of dividing by them.

source: https://github.com/davidberenstein1957/fast-sentence-transformers/issues/3
diagnosis: embeddings = np.linalg.norm(embeddings, axis=1) returns the norms (shape reduced); divide by the norms with keepdims=True
exercise: l2-normalize
label: returns-norm
"""
import numpy as np


def l2_normalize(x):
    embeddings = np.asarray(x, dtype=float)
    embeddings = np.linalg.norm(embeddings, ord=2, axis=1, keepdims=False)
    return embeddings
