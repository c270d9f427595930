import math


def l2_normalize(x):
    rows = [list(r) for r in x] if hasattr(x[0], "__len__") else None
    if rows is None:
        n = math.sqrt(sum(t * t for t in x))
        return [t / n if n else 0.0 for t in x]
    out = [[0.0] * len(rows[0]) for _ in rows]
    for j in range(len(rows[0])):
        n = math.sqrt(sum(r[j] * r[j] for r in rows))
        for i in range(len(rows)):
            out[i][j] = rows[i][j] / n if n else 0.0
    return out
