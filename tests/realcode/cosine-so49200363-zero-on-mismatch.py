"""Pure-Python cosine whose helper dot product returns 0 for vectors of different lengths.

source: https://kiwix.lema.org/stackoverflow.com_en_all_2023-11/questions/49200363/cosine-similarity-for-special-vectors-only-one-component
diagnosis: answerers: one-component vectors always have cosine +-1 (no bug there); the code has no guard for a zero magnitude and hides a length mismatch as 0
exercise: cosine-similarity
label: uncatalogued, zero-vector-nan
also: integer-wraparound
"""
import math


def _dot(v1, v2):
    if len(v1) != len(v2):
        return 0
    return sum([x * y for x, y in zip(v1, v2)])


def cosine_similarity(a, b):
    dp = _dot(a, b)
    mag1 = math.sqrt(_dot(a, a))
    mag2 = math.sqrt(_dot(b, b))
    return dp / (mag1 * mag2)
