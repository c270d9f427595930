"""Normalises by the sum of squares, i.e. the squared L2 norm.

source: https://github.com/aimacode/aima-python/pull/439
diagnosis: the L2 normalisation divided by the square of the norm; divide by the L2 norm itself
exercise: l2-normalize
label: squared-norm
also: integer-wraparound
"""


def _unit(row):
    total = sum(v * v for v in row)
    if total == 0:
        return [0.0 for _ in row]
    return [v / total for v in row]


def l2_normalize(x):
    items = list(x)
    if items and hasattr(items[0], "__len__"):
        return [_unit(list(r)) for r in items]
    return _unit(items)
