"""np.dot on the arrays as given: small integer dtypes wrap around.

source: https://stackoverflow.com/questions/44039165/numpys-dot-product-gives-two-different-results-depending-on-array-dtype/44039193
diagnosis: uint8 can only hold 0..255; the dot product overflows and only the last 8 bits are kept; cast to float first
exercise: attention-scores
label: integer-wraparound
"""
import numpy as np


def attention_scores(Q, K):
    Q = np.asarray(Q)
    K = np.asarray(K)
    return np.dot(Q, K.T) / np.sqrt(Q.shape[1])
