# helper functions for the similarity homework (Ada)
import math


def multiply_and_add(a, b):
    """Multiply matching positions and add everything up."""
    total = 0.0
    for i in range(len(a)):
        total = total + a[i] * b[i]
    return total


def length(v):
    # length of a vector = sqrt of the sum of squares (Pythagoras)
    squares = 0.0
    for x in v:
        squares += x * x
    return math.sqrt(squares)
