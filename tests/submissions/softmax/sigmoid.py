import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    # squash every score into (0, 1)
    return 0.5 * (1.0 + np.tanh(0.5 * x))
