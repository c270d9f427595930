import math


def l2_normalize(x):
    if hasattr(x[0], "__len__"):
        return [math.sqrt(sum(t ** 2 for t in row)) for row in x]
    return math.sqrt(sum(t ** 2 for t in x))
