from functools import reduce


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    # why not subtract? close vectors -> small number
    return reduce(lambda acc, pair: acc + (pair[0] - pair[1]) ** 2, zip(a, b), 0.0)
