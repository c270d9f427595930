"""Guarded pure-Python cosine whose zip silently truncates vectors of different lengths.

source: https://github.com/kirodotdev/KiroCrew/issues/3466
diagnosis: zip truncates the dot product to the shorter vector while both norms use the full length, so mismatched dimensions give a plausible score instead of an error
exercise: cosine-similarity
label: uncatalogued
also: integer-wraparound
"""
import math


def cosine_similarity(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    norm_a = math.sqrt(sum(x * x for x in a))
    norm_b = math.sqrt(sum(y * y for y in b))
    return dot / (norm_a * norm_b) if norm_a and norm_b else 0.0
