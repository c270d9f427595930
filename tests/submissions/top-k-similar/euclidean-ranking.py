import math


def top_k_similar(query, keys, k):
    # the closest keys are the most similar ones
    dist = [math.dist([float(x) for x in row], [float(x) for x in query]) for row in keys]
    return sorted(range(len(keys)), key=dist.__getitem__)[:k]
