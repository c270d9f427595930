# playing around with the example from the forum thread
import numpy as np

from similarity import cosine_similarity, dot

if __name__ == "__main__":
    a = np.array([0.2, 3])
    b = np.array([0.4, 3])
    c = np.array([0.2, 3])
    print("a.b =", dot(a, b), " c.c =", dot(c, c))
    print("cos(a,b) =", cosine_similarity(a, b), " cos(c,c) =", cosine_similarity(c, c))
