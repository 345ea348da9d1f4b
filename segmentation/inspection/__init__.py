"""Qt-free views into YOLACT's mask assembly: prototypes, coefficients, each step of M = sigmoid(P . C^T)."""
