# helper functions for the similarity homework (Ada)
import math


def multiply_and_add(a, b):
    """Multiply matching positions and add everything up."""
    total = 0.0
    for i in range(len(a)):
        total = total + float(a[i]) * float(b[i])  # float(): small integer types would wrap
    return total


def length(v):
    # length of a vector = sqrt of the sum of squares (Pythagoras)
    squares = 0.0
    for x in v:
        squares += float(x) * float(x)
    return math.sqrt(squares)
