import math


def _unit(v):
    length = math.sqrt(sum(float(t) ** 2 for t in v))
    return [float(t) / length for t in v]


def l2_normalize(x):
    if hasattr(x[0], "__len__"):
        return [_unit(row) for row in x]
    return _unit(x)
