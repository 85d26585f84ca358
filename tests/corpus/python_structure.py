"""The Python around the maths, as training code is written (issue 9): continue and break in
for and while loops, checks that raise or assert, booleans as flags, and the CS231n naive
loss loops."""

import math

import numpy as np

INPUTS = {
    "svm_loss_naive": {"W": ((4, 3), -1.0, 1.0), "X": ((5, 4), -2.0, 2.0),
                       "y": ("int", (5,), 0, 3), "reg": (0.01, 0.5)},
    "softmax_loss_naive": {"W": ((4, 3), -1.0, 1.0), "X": ((5, 4), -2.0, 2.0),
                           "y": ("int", (5,), 0, 3), "reg": (0.01, 0.5)},
    "first_over_threshold": {"x": (0.05, 1.5)},
    "until_large": {"x": (1.05, 3.0)},
    "skips_every_second": {"x": (0.5, 1.5)},
    "nested_continue_and_break": {"x": (0.2, 1.2), "y": (-1.0, 1.0)},
    "validated": {"x": (-2.0, 2.0), "y": (0.5, 3.0)},
    "validated_in_a_loop": {"x": (-2.0, 2.0)},
    "asserted_shapes": {"x": ((3, 4), -1.0, 1.0), "w": ((4,), -1.0, 1.0)},
}
SHAPES = {"asserted_shapes": "x=N,D w=D"}


def svm_loss_naive(W, X, y, reg):
    # CS231n assignment 1, linear_svm.svm_loss_naive (the loss part)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
    loss /= num_train
    loss += reg * np.sum(W * W)
    return loss


def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores -= np.max(scores)
        loss += -scores[y[i]] + np.log(np.sum(np.exp(scores)))
    loss /= num_train
    loss += 0.5 * reg * np.sum(W * W)
    return loss


def first_over_threshold(x, n=8):
    s = 0.0
    for i in range(n):
        s = s + x * i
        if s > 3.0:
            break
        s = s * 1.1
    return s


def until_large(x):
    y = x
    k = 0
    while True:
        y = y * x
        k += 1
        if y > 10.0 or k >= 30:
            break
    return y + x


def skips_every_second(x):
    s = 0.0
    k = 0
    while k < 6:
        k += 1
        if k % 2 == 0:
            continue
        s = s + x ** k
    return s


def nested_continue_and_break(x, y):
    total = 0.0
    for i in range(3):
        if i == 1:
            continue
        for j in range(3):
            if j > i:
                break
            total = total + math.sin(x * j + y * i)
    return total


def validated(x, y):
    if y <= 0:
        raise ValueError("y must be positive")
    assert x < 100.0, "x is too large"
    return math.log(y) * x


def validated_in_a_loop(x, n=3):
    s = 0.0
    for i in range(n):
        if abs(x) > 1e6:
            raise ValueError(f"x={x} is not finite enough")
        s = s + math.sin(x * (i + 1))
    return s


def asserted_shapes(x, w):
    assert x.shape[1] == w.shape[0], "x and w do not match"
    return np.sum(np.tanh(x @ w))
