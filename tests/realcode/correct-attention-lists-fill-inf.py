"""Masked attention over plain lists: blocked keys skipped (weight 0), max-shifted exp per query.

source: https://github.com/hyunwoongko/transformer/issues/10
diagnosis: the fix: blocked scores get -inf before the softmax (here: they are left out of the sum)
exercise: attention
label: correct
"""
import math


def attention(Q, K, V, mask=None):
    Q = [[float(v) for v in row] for row in Q]
    K = [[float(v) for v in row] for row in K]
    V = [[float(v) for v in row] for row in V]
    root = math.sqrt(len(K[0]))
    out = []
    for i, q in enumerate(Q):
        allowed = [j for j in range(len(K)) if mask is None or bool(mask[i][j])]
        scores = {j: sum(a * b for a, b in zip(q, K[j])) / root for j in allowed}
        top = max(scores.values())
        weights = {j: math.exp(s - top) for j, s in scores.items()}
        total = sum(weights.values())
        out.append([sum(weights[j] * V[j][c] for j in allowed) / total for c in range(len(V[0]))])
    return out
