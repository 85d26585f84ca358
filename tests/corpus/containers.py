"""Tuples, lists and dicts of values (issue 9), as training code writes them: a layer's
`(out, cache)`, caches unpacked again, lists of parameters and of partial results,
comprehensions over constants, dicts used as caches, shapes as tuples."""

import numpy as np

INPUTS = {
    "l2_over_every_key": {"params": {"W1": ((3, 2), -1.0, 1.0), "b1": ((2,), -0.5, 0.5)},
                          "X": ((4, 3), -1.0, 1.0)},
    "l2_over_values": {"params": {"W1": ((3, 2), -1.0, 1.0), "b1": ((2,), -0.5, 0.5)},
                       "X": ((4, 3), -1.0, 1.0)},
    "l2_over_weight_items": {"params": {"W1": ((3, 2), -1.0, 1.0), "b1": ((2,), -0.5, 0.5),
                                        "W2": ((2, 2), -1.0, 1.0)},
                             "X": ((4, 3), -1.0, 1.0)},
    "helper_pair": {"x": (-1.5, 1.5), "y": (-1.5, 1.5)},
    "two_layer_with_caches": {"X": ((5, 4), -2.0, 2.0), "W1": ((4, 3), -1.0, 1.0),
                              "b1": ((3,), -0.5, 0.5), "W2": ((3, 2), -1.0, 1.0),
                              "b2": ((2,), -0.5, 0.5)},
    "flatten_input": {"x": ((3, 2, 2), -1.0, 1.0), "w": ((4, 2), -1.0, 1.0)},
    "layer_list": {"x": ((4, 3), -1.0, 1.0), "W1": ((3, 5), -1.0, 1.0),
                   "b1": ((5,), -0.5, 0.5), "W2": ((5, 2), -1.0, 1.0), "b2": ((2,), -0.5, 0.5)},
    "collected_terms": {"x": ((3,), -1.0, 1.0)},
    "polynomial_by_comprehension": {"x": (-1.2, 1.2), "c": ((4,), -1.0, 1.0)},
    "dict_cache": {"x": ((3,), -1.0, 1.0), "w": ((3,), -1.0, 1.0)},
    "zipped_pairs": {"x": ((3,), -1.0, 1.0), "y": ((3,), -1.0, 1.0)},
    "list_of_rows": {"x": ((3, 2), -1.0, 1.0)},
    "indexed_vector": {"x": ((3,), -1.0, 1.0)},
    "sliced_parameter": {"x": ((3,), -1.0, 1.0), "y": ((2, 3), -1.0, 1.0)},
    "row_of_an_unannotated_matrix": {"x": ((3, 4), -1.0, 1.0), "y": ((3, 4), -1.0, 1.0)},
    "entry_updated_in_place": {"x": ((3,), -1.0, 1.0)},
    "tuple_entry_updated_in_place": {"x": ((3,), -1.0, 1.0)},
    "tuple_parameter": {"abc": ("tuple", (-1.0, 1.0), ((3,), -1.0, 1.0), (0.5, 1.5)),
                        "x": ((3,), -1.0, 1.0)},
    "object_attributes_as_weights": {"net": ("object", {"W": ((4, 3), -1.0, 1.0),
                                                        "scale": (0.5, 1.5)}),
                                     "X": ((5, 4), -1.0, 1.0)},
    "nested_dict_of_weights": {"p": {"layer": {"W": ((4, 3), -1.0, 1.0),
                                               "b": ((3,), -0.5, 0.5)}, "gain": (0.5, 1.5)},
                               "X": ((5, 4), -1.0, 1.0)},
    "nested_attribute_weights": {"net": ("object", {"layer": ("object", {
        "W": ((4, 3), -1.0, 1.0)})}), "X": ((5, 4), -1.0, 1.0)},
    "layers_as_pairs": {"params": ("list", ("tuple", ((4, 5), -1.0, 1.0), ((5,), -0.5, 0.5)),
                                   ("tuple", ((5, 3), -1.0, 1.0), ((3,), -0.5, 0.5)),
                                   ("tuple", ((3, 2), -1.0, 1.0), ((2,), -0.5, 0.5))),
                        "X": ((6, 4), -1.0, 1.0)},
    "zipped_layer_lists": {"weights": ("list", ((4, 3), -1.0, 1.0), ((2, 4), -1.0, 1.0)),
                           "biases": ("list", ((4, 1), -0.5, 0.5), ((2, 1), -0.5, 0.5)),
                           "x": ((3, 1), -1.0, 1.0), "y": ((2, 1), -1.0, 1.0)},
    "indexed_layer_lists": {"Ws": ("list", ((4, 5), -1.0, 1.0), ((5, 3), -1.0, 1.0)),
                            "bs": ("list", ((5,), -0.5, 0.5), ((3,), -0.5, 0.5)),
                            "X": ((6, 4), -1.0, 1.0)},
    "list_of_coefficients": {"coeffs": ("list", (-1.0, 1.0), (-1.0, 1.0), (-1.0, 1.0)),
                             "x": ((5,), -1.5, 1.5)},
    "layer_lists_held_by_an_object": {
        "net": ("object", {"weights": ("list", ((4, 3), -1.0, 1.0), ((2, 4), -1.0, 1.0)),
                           "biases": ("list", ((4, 1), -0.5, 0.5), ((2, 1), -0.5, 0.5))}),
        "x": ((3, 1), -1.0, 1.0), "y": ((2, 1), -1.0, 1.0)},
    "layers_as_dicts": {"layers": ("list", {"W": ((4, 5), -1.0, 1.0), "b": ((5,), -0.5, 0.5)},
                                   {"W": ((5, 3), -1.0, 1.0), "b": ((3,), -0.5, 0.5)},
                                   {"W": ((3, 2), -1.0, 1.0), "b": ((2,), -0.5, 0.5)}),
                        "X": ((6, 4), -1.0, 1.0), "y": ((6, 2), -1.0, 1.0)},
    "indexed_dicts_with_a_scale": {"params": ("tuple", {"W": ((3, 4), -1.0, 1.0),
                                                        "scale": (0.5, 1.5)},
                                              {"W": ((3, 2), -1.0, 1.0), "scale": (0.5, 1.5)}),
                                   "x": ((5, 3), -1.0, 1.0)},
    "dict_layers_unpacked": {"params": ("list", {"W": ((4, 3), -1.0, 1.0), "b": ((3,), -0.5, 0.5)},
                                        {"W": ((3, 3), -1.0, 1.0), "b": ((3,), -0.5, 0.5)}),
                             "X": ((5, 4), -1.0, 1.0)},
    "dicts_of_numbers": {"terms": ("list", {"a": (-1.0, 1.0), "k": (0.5, 1.5)},
                                   {"a": (-1.0, 1.0), "k": (0.5, 1.5)}),
                         "x": (-1.0, 1.0)},
}
SHAPES = {"list_of_rows": "x=N,D",
          "l2_over_every_key": "params=dict:W1,b1 X=N,D W1=D,H b1=H",
          "l2_over_values": "params=dict:W1,b1 X=N,D W1=D,H b1=H",
          "l2_over_weight_items": "params=dict:W1,b1,W2 X=N,D W1=D,H b1=H W2=H,C",
          "layers_as_pairs": "params=list:3,2", "zipped_layer_lists": "weights=list:2 "
          "biases=list:2 biases_0=H,1 biases_1=C,1", "indexed_layer_lists": "Ws=list:2 bs=list:2",
          "layers_as_dicts": "layers=list:3,dict:W,b",
          "indexed_dicts_with_a_scale": "params=tuple:2,dict:W,scale params_0_scale=float "
          "params_1_scale=float",
          "dict_layers_unpacked": "params=list:2,dict:W,b",
          "dicts_of_numbers": "terms=list:2,dict:a,k terms_0_a=float terms_0_k=float "
          "terms_1_a=float terms_1_k=float x=float",
          "layer_lists_held_by_an_object": "weights=list:2 biases=list:2 "
          "biases_0=H,1 biases_1=C,1",
          "list_of_coefficients": "coeffs=list:3 coeffs_0=float "
          "coeffs_1=float coeffs_2=float x=N",  # (x[0] alone says a vector: the CLI's assumption)
          "row_of_an_unannotated_matrix": "x=N,D y=N,D"}


def pair(x, y):
    return x * y, x + y


def helper_pair(x, y):
    """Issue 9's first silent zero: a helper returning a tuple, unpacked."""
    a, b = pair(x, y)
    return a * b + pair(x, y)[1]


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def two_layer_with_caches(X, W1, b1, W2, b2):
    hidden, cache1 = affine_relu_forward(X, W1, b1)
    scores, cache2 = affine_forward(hidden, W2, b2)
    fc_cache, relu_cache = cache1
    x, w, b = fc_cache
    return np.sum(scores ** 2) + 0.5 * np.sum(w * w) + np.sum(relu_cache) * 0.1


def flatten_input(x: "N A B", w):  # (x.shape as a whole needs x's rank)
    D = np.prod(x.shape[1:])
    flat = x.reshape((x.shape[0], D))
    return np.sum(np.tanh(flat @ w))


def layer_list(x, W1, b1, W2, b2):
    layers = [(W1, b1), (W2, b2)]
    h = x
    for W, b in layers:
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2)


def collected_terms(x):
    parts = []
    for k in range(3):
        parts.append(np.sin(x * (k + 1)))
    stacked = np.stack(parts)
    return np.sum(stacked) + np.sum(parts[-1] * parts[0]) + np.sum(sum(parts))


def polynomial_by_comprehension(x, c):
    terms = [c[k] * x ** k for k in range(4)]
    return sum(terms) + sum(c[k] * c[k] for k in range(len(terms)))


def dict_cache(x, w):
    cache = {}
    h = np.tanh(x * w)
    cache['h'] = h
    cache['x'] = x
    more = {'w': w, 'scale': 2.0}
    return np.sum(cache['h'] * cache['x']) + more['scale'] * np.sum(more['w'] ** 2)


def zipped_pairs(x, y):
    us = [x, 2.0 * x]
    vs = [y, y * y]
    total = 0.0
    for i, (u, v) in enumerate(zip(us, vs)):
        total = total + (i + 1) * np.sum(u * v)
    return total


def list_of_rows(x):
    rows = [x[0], x[1], x[2]]
    first, second = rows[0], rows[1]
    return np.sum(np.stack(rows) ** 2) + np.sum(first * second)


def tuple_parameter(abc, x):
    """A tuple parameter unpacked: its gradient comes back as a tuple."""
    a, w, c = abc
    return np.sum(np.tanh(a * x + w) * c)


def indexed_vector(x):
    """Issue 9: the API and the CLI agree (x is taken as a vector, stated in the header)."""
    return x[0] * x[1] + x[2]


def entry_updated_in_place(x: "N"):
    """A list holds the array h; h += 1 changes the list's entry too (numpy's semantics): it
    was a silent wrong gradient before the containers followed in-place updates."""
    h = x * 2.0
    lst = [h]
    h += 1.0
    return np.sum(lst[0] * x)


def tuple_entry_updated_in_place(x: "N"):
    h = x * 2.0
    pair = (h, x)
    h[0] = 5.0
    return np.sum(pair[0] * x)


def sliced_parameter(x, y):
    """A slice says nothing about the rank (found by the hazard property test: y[:] had made
    the CLI assume a vector, and the generated guard refused a matrix)."""
    z = y[:] * 1.0
    return np.sum(x * x) + np.sum(z * z)


def row_of_an_unannotated_matrix(x, y):
    """Found by the hazard property test at 2000 examples (there with look-alike names
    and locals called ValueError and _argmax_mask): y[0] alone says a vector, so without
    --shapes the CLI's module assumes y (n1,), states it in its header and refuses a
    matrix at run time; the API takes the shapes from the arguments."""
    v = x * 2.0
    u = y[0]
    return np.sum(v * v) + np.sum(u * u)


def object_attributes_as_weights(net, X):
    """Silent zero (found by --verify on a dict-free model): a parameter read only through
    its attributes got np.zeros_like(net) as its gradient, though net.W and net.scale
    change the output.  Its gradient is a dict by attribute, as params['W'] gives."""
    return np.tanh(X @ net.W).sum(axis=1).mean() + net.scale * X.mean()


def nested_dict_of_weights(p, X):
    """The same silent zero for a dict of dicts, p['layer']['W']."""
    h = np.tanh(X @ p['layer']['W'] + p['layer']['b'])
    return p['gain'] * (h ** 2).sum()


def nested_attribute_weights(net, X):
    """And for an attribute of an attribute, net.layer.W."""
    return np.tanh(X @ net.layer.W).sum()


def layers_as_pairs(params, X):
    """A list of layers' (W, b) pairs, as JAX's MLP example keeps them: looped over with a
    slice, the last one unpacked; its gradient is a list of (dW, db) pairs."""
    h = X
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    out = h @ W + b
    return np.mean(out ** 2)


def zipped_layer_lists(weights, biases, x, y):
    """Nielsen's network.py: column vectors, weights and biases in two lists, zipped."""
    a = x
    for b, w in zip(biases, weights):
        a = 1.0 / (1.0 + np.exp(-(np.dot(w, a) + b)))
    return 0.5 * np.sum((a - y) ** 2)


def indexed_layer_lists(Ws, bs, X):
    """Two lists indexed by a loop over range(len(Ws))."""
    h = X
    for i in range(len(Ws)):
        h = np.maximum(0.0, h @ Ws[i] + bs[i])
    return np.sum(h ** 2)


def list_of_coefficients(coeffs, x):
    """A list of numbers: Horner's rule from a number that becomes an array."""
    y = 0.0
    for c in coeffs:
        y = y * x + c
    return np.sum(np.sin(y))


def layer_lists_held_by_an_object(net, x, y):
    """Nielsen's network.py as a function of the network: lists of layers held by its
    attributes (AD305 before: adgen did not look into net.weights); the gradient is a dict
    of lists, by attribute."""
    a = x
    for b, w in zip(net.biases, net.weights):
        a = 1.0 / (1.0 + np.exp(-(np.dot(w, a) + b)))
    return 0.5 * np.sum((a - y) ** 2)


def layers_as_dicts(layers, X, y):
    """A list of layers as dicts, {'W': W, 'b': b} each: looped over with a slice, the last
    one read by key; its gradient is a list of dicts, [{'W': dW, 'b': db}, ...] (AD103
    before: a list of dicts was refused)."""
    h = X
    for layer in layers[:-1]:
        h = np.tanh(h @ layer["W"] + layer["b"])
    last = layers[-1]
    scores = h @ last["W"] + last["b"]
    return np.mean((scores - y) ** 2)


def indexed_dicts_with_a_scale(params, x):
    """A tuple of dicts indexed by a loop over range(len(params)); one entry a float."""
    s = 0.0
    for i in range(len(params)):
        s = s + np.sum(np.tanh(x @ params[i]['W']) * params[i]['scale'])
    return s


def dict_layers_unpacked(params, X):
    """for p in params: W, b = p['W'], p['b']."""
    h = X
    for p in params:
        W, b = p['W'], p['b']
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2)


def dicts_of_numbers(terms, x):
    """A list of dicts of numbers."""
    y = 0.0
    for t in terms:
        y = y + t['a'] * np.sin(t['k'] * x)
    return y


def l2_over_every_key(params, X):
    """Weight decay over every entry of a dict of parameters: `for k in params` is written
    out (the keys are known when compiling), `params[k]` is each entry."""
    loss = np.sum(np.tanh(X @ params['W1'] + params['b1']) ** 2)
    for k in params:
        loss += 0.1 * np.sum(params[k] ** 2)
    return loss


def l2_over_values(params, X):
    """The same over `params.values()`, in a generator summed by Python's sum."""
    loss = np.sum(np.tanh(X @ params['W1'] + params['b1']) ** 2)
    reg = sum(np.sum(W ** 2) for W in params.values())
    return loss + 0.1 * reg


def l2_over_weight_items(params, X):
    """Over the weights only: `for name, W in params.items(): if name.startswith('W')`."""
    h = np.tanh(X @ params['W1'] + params['b1'])
    loss = np.sum((h @ params['W2']) ** 2)
    for name, W in params.items():
        if name.startswith('W'):
            loss += 0.1 * np.sum(W * W)
    return loss
