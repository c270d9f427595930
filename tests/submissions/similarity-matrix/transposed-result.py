def similarity_matrix(A, B):
    # one row per row of B, comparing it with every row of A
    return [[float(sum(x * y for x, y in zip(b, a))) for a in A] for b in B]
