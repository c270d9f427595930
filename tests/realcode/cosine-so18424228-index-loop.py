"""One-loop cosine over range(len(v1)) with a single square root, no guards.

source: https://qastack.com.br/programming/18424228/cosine-similarity-between-2-number-lists
diagnosis: a fast single-pass answer; as written it divides by zero for a zero vector and indexes by v1's length, so other lengths raise IndexError or are silently cut
exercise: cosine-similarity
label: zero-vector-nan, uncatalogued
also: integer-wraparound
"""
import math


def cosine_similarity(a, b):
    sumxx, sumxy, sumyy = 0, 0, 0
    for i in range(len(a)):
        x = a[i]
        y = b[i]
        sumxx += x * x
        sumyy += y * y
        sumxy += x * y
    return sumxy / math.sqrt(sumxx * sumyy)
