"""Cosine whose dot product pairs elements by list.index, so repeated values pair wrongly.

source: https://www.52zhanxing.com/ask/7789043.html
diagnosis: the asker got cosines above 1; the nested loop pairs o and p by .index(), which finds the first occurrence, so repeated values are multiplied with the wrong partner
exercise: cosine-similarity
label: uncatalogued, zero-vector-nan
also: integer-wraparound
"""
import math


def cosine_similarity(a, b):
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError("vectors differ in length")
    len_a = math.pow(sum(w ** 2 for w in a), 1 / 2)
    len_b = math.pow(sum(z ** 2 for z in b), 1 / 2)
    top = sum(o * p for o in a for p in b if a.index(o) == b.index(p))
    return top / (len_a * len_b)
