def similarity_matrix(A, B):
    S = []
    for a in A:
        row = []
        for b in B:
            total = 0.0
            for k in range(len(a)):
                total += float(a[k]) * float(b[k])
            row.append(float(total))
        S.append(row)
    return S
