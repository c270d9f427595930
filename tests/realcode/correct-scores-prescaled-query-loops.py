"""Scores from nested loops over lists, the query pre-divided by sqrt(d_k) before the products.

source: https://github.com/bytedance/lightseq/issues/91
diagnosis: the reported missing division was done earlier, on the query; maintainers pointed to where
exercise: attention-scores
label: correct
"""
import math


def attention_scores(Q, K):
    q_rows = [[float(v) for v in row] for row in Q]
    k_rows = [[float(v) for v in row] for row in K]
    d_k = len(q_rows[0])
    root = math.sqrt(d_k)
    scaled = [[v / root for v in row] for row in q_rows]
    return [[sum(x * y for x, y in zip(q, k)) for k in k_rows] for q in scaled]
