"""Homework dot product that returns 0 when the lengths differ.

source: https://stackoverflow.com/questions/32669855/dot-product-of-two-lists-in-python/32669935
diagnosis: answer with sum over zip; a commenter: on a length mismatch you likely want to raise an error rather than return a number
exercise: dot-product
label: no-length-check
also: integer-wraparound
"""


def dot(a, b):
    if len(a) != len(b):
        return 0
    return sum(pair[0] * pair[1] for pair in zip(a, b))
