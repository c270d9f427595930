"""Cosine distance computed as 1 - dot / ||query||: the candidate's norm is left out.

source: https://github.com/antflydb/antfly/issues/278
diagnosis: dividing by the query norm only makes the ranking magnitude-weighted; the largest stored vector wins nearly every query
exercise: top-k-similar
label: dot-ranking
"""
import math


def top_k_similar(query, keys, k):
    query_measure = math.sqrt(sum(float(v) * float(v) for v in query))
    distances = []
    for row in keys:
        d = sum(float(a) * float(b) for a, b in zip(query, row))
        distances.append(1.0 - d / query_measure)
    order = sorted(range(len(distances)), key=lambda i: distances[i])
    return order[:k]
