"""Softmax as exp(log_softmax): x - max - log(sum(exp(x - max))) along the axis.

source: https://stackoverflow.com/questions/61567597/how-is-log-softmax-implemented-to-compute-its-value-and-gradient-with-better
diagnosis: the answer's stable log_softmax with c = max(x); exponentiating it gives the softmax without overflow
exercise: softmax
label: correct
"""
import numpy as np


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=float)
    c = x.max(axis=axis, keepdims=True)
    logsumexp = np.log(np.exp(x - c).sum(axis=axis, keepdims=True))
    return np.exp(x - c - logsumexp)
