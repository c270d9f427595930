import numpy as np

# Q @ K multiplies the numbers at the same position (like a @ b = [0.08, 9]),
# so query * key gives the match of every feature


def attention_scores(Q, K):
    Q = np.array(Q, dtype=float)
    K = np.array(K, dtype=float)
    d_k = Q.shape[1]
    return Q * K / np.sqrt(d_k)


def softmax(x, axis=-1):
    x = np.array(x, dtype=float)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
