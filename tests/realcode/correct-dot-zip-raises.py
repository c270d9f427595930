"""Dot product over zip after a length check that raises, as a commenter advised.

source: https://stackoverflow.com/questions/32669855/dot-product-of-two-lists-in-python/32669935
diagnosis: answers: sum of pairwise products over zip; if the lengths are not equal you likely want to raise an error
exercise: dot-product
label: correct
note: each element goes through float() first, as small integer dtypes wrap
"""


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("dot needs vectors of equal length")
    return sum(float(x) * float(y) for x, y in zip(a, b))
