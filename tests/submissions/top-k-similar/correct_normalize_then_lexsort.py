import numpy as np


def top_k_similar(query, keys, k):
    keys = np.array(keys, dtype=np.float64)
    query = np.array(query, dtype=np.float64)
    unit_keys = keys / np.sqrt(np.einsum("nd,nd->n", keys, keys))[:, None]
    unit_query = query / np.sqrt(np.einsum("d,d->", query, query))
    sims = np.einsum("nd,d->n", unit_keys, unit_query)
    idx = np.arange(len(sims))
    # primary key: similarity, descending; secondary key: index, ascending
    order = np.lexsort((idx, -sims))
    return [int(i) for i in order[:k]]
