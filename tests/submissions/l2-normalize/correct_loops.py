import math


def _unit(v):
    length = math.sqrt(sum(float(t) * float(t) for t in v))
    if length == 0.0:
        return [0.0 for _ in v]
    return [float(t) / length for t in v]


def l2_normalize(x):
    rows = list(x)
    if rows and hasattr(rows[0], "__len__"):  # a matrix: one vector per row
        return [_unit(row) for row in rows]
    return _unit(rows)
