"""A while loop that skips zero entries with `continue` before the index is advanced.

source: https://thecarsonwest.github.io/test/public/infinite-loops
diagnosis: a continue placed before the increment skips `i += 1`, so the loop never moves past that element and runs forever
exercise: dot-product
label: uncatalogued
also: integer-wraparound
"""


def dot(a, b):
    if len(a) != len(b):
        raise ValueError("lengths differ")
    total = 0.0
    i = 0
    while i < len(a):
        if a[i] == 0 or b[i] == 0:
            continue
        total += a[i] * b[i]
        i += 1
    return total
