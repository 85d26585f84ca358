"""Report statements: `print(...)`, `logging.info(...)`, `warnings.warn(...)` in a forward.

Real code prints as it goes (`if verbose: print("loss", loss)`).  Such a statement only
reports: it changes no value the function computes, so it changes no gradient.  The
generated code leaves it out: the gradient does not print, as PyTorch's backward does not
re-run the forward's prints (the user's own forward still prints when they call it).

Leaving a statement out is exact only if evaluating its arguments changes nothing either, so
they may only read: names, attributes, indexing, constants, f-strings, arithmetic and
comparisons, displays, and calls that compute without changing anything -- the builtins in
`PURE_BUILTINS`, `math.*`, `numpy.*` outside `numpy.random`, methods in `PURE_METHODS`, and no
`out=` argument.  Anything else (a helper of the user's, `xs.pop()`, `rng.normal()`) is
`impure`: the fence refuses the statement (AD101) and says which call.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from adgen.children import children

# The functions whose call statements only report (qualified as source.ModuleScope does).
REPORTERS = frozenset({
    "print", "warnings.warn", "logging.debug", "logging.info", "logging.warning",
    "logging.warn", "logging.error", "logging.critical", "logging.exception", "logging.log",
})
PURE_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "dict", "divmod", "float", "format", "hash", "id", "int",
    "isinstance", "len", "list", "max", "min", "pow", "repr", "round", "set", "sorted", "str",
    "sum", "tuple", "type", "zip", "enumerate", "range", "reversed", "ascii", "hex", "oct",
    "bin", "chr", "ord",
})
PURE_METHODS = frozenset({
    # arrays
    "sum", "mean", "std", "var", "max", "min", "argmax", "argmin", "any", "all", "prod",
    "reshape", "ravel", "flatten", "astype", "copy", "item", "tolist", "round", "cumsum",
    "transpose", "squeeze", "dot", "nonzero", "clip", "conj", "trace", "diagonal",
    # strings and dicts
    "format", "join", "upper", "lower", "strip", "keys", "values", "items", "get",
})


def reporter(stmt: cst.CSTNode, scope) -> Optional[cst.Call]:
    """The call of a report statement (`print(x)`), else None; `scope` is the file's
    (source.ModuleScope)."""
    if not isinstance(stmt, cst.Expr) or not isinstance(stmt.value, cst.Call):
        return None
    func = stmt.value.func
    if isinstance(func, cst.Name) and (func.value in scope.functions or
                                       func.value in scope.others):
        return None  # the file's own print
    return stmt.value if scope.qualify(func) in REPORTERS else None


def impure(call: cst.Call, scope) -> Optional[cst.CSTNode]:
    """The first part of a report statement's arguments that may change something (a call
    not known to be pure, an `out=` argument, a lambda or a walrus), else None."""
    pending: list = [a.value for a in call.args]
    while pending:
        node = pending.pop(0)
        if isinstance(node, (cst.Lambda, cst.NamedExpr, cst.Yield, cst.Await)):
            return node
        if isinstance(node, cst.Call):
            if any(a.keyword is not None and a.keyword.value == "out" for a in node.args) \
                    or not _pure_callee(node.func, scope):
                return node
            callee = node.func.value if isinstance(node.func, cst.Attribute) else None
            pending[0:0] = ([callee] if callee is not None else []) + \
                [a.value for a in node.args]
            continue
        pending[0:0] = list(children(node))
    return None


def _pure_callee(func: cst.BaseExpression, scope) -> bool:
    root = func
    while isinstance(root, cst.Attribute):
        root = root.value
    of_module = isinstance(root, cst.Name) and (root.value in scope.modules or
                                                root.value in scope.imported)
    name = scope.qualify(func)
    if of_module or isinstance(func, cst.Name):  # a function: math.exp, np.sum, len
        if isinstance(func, cst.Name) and (func.value in scope.functions or
                                           func.value in scope.others):
            return False  # the file's own function of that name
        return name is not None and (
            name in PURE_BUILTINS or name.startswith("math.") or
            (name.startswith("numpy.") and not name.startswith("numpy.random")))
    # a method of a value: x.mean(), "{:.3f}".format(loss)
    return isinstance(func, cst.Attribute) and func.attr.value in PURE_METHODS
