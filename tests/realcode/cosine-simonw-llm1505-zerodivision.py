"""Pure-Python cosine (sum over zip) that divides by a zero magnitude.

source: https://github.com/simonw/llm/pull/1505
diagnosis: cosine_similarity raised ZeroDivisionError when either vector has zero magnitude; return 0.0 for a zero vector
exercise: cosine-similarity
label: zero-vector-nan
also: integer-wraparound
"""


def cosine_similarity(a, b):
    if len(a) != len(b):
        raise ValueError("vectors must have the same length")
    dot = sum(x * y for x, y in zip(a, b))
    magnitude_a = sum(x * x for x in a) ** 0.5
    magnitude_b = sum(y * y for y in b) ** 0.5
    return dot / (magnitude_a * magnitude_b)
