"""Questions about a function's libcst statements, asked by the fence, the stager and
`members.py`: its body and blocks, whether a block returns or leaves a loop on some path, the
names it assigns, the functions of the same file it calls, `return out, cache`.
"""

from __future__ import annotations

import libcst as cst

from adgen.params import param_names
from adgen.children import children


def function_body(fn: cst.FunctionDef) -> list[cst.BaseStatement | cst.BaseSmallStatement]:
    """The function's statements, one-line suites (`def f(x): return x`) included."""
    if isinstance(fn.body, cst.IndentedBlock):
        return list(fn.body.body)
    return [cst.SimpleStatementLine(body=fn.body.body)]


def block_statements(suite: cst.BaseSuite) -> list[cst.CSTNode]:
    """The statements of a block, `a = 1; b = 2` split, compound statements as they are."""
    if isinstance(suite, cst.IndentedBlock):
        flat: list[cst.CSTNode] = []
        for stmt in suite.body:
            flat.extend(stmt.body if isinstance(stmt, cst.SimpleStatementLine) else [stmt])
        return flat
    return list(suite.body)


def may_return(stmts) -> bool:
    """Whether a block returns on some path."""
    for stmt in stmts:
        if isinstance(stmt, cst.Return):
            return True
        if isinstance(stmt, cst.If) and (may_return(block_statements(stmt.body))
                                         or may_return(else_statements(stmt))):
            return True
    return False


def may_exit(stmts, kinds=(cst.Continue, cst.Break)) -> bool:
    """Whether a loop body's block leaves the iteration on some path (continue, break),
    through its ifs (a nested loop's own exits do not count)."""
    for stmt in stmts:
        if isinstance(stmt, kinds):
            return True
        if isinstance(stmt, cst.If) and (may_exit(block_statements(stmt.body), kinds)
                                         or may_exit(else_statements(stmt), kinds)):
            return True
    return False


def else_statements(stmt: cst.If) -> list[cst.CSTNode]:
    """The statements of an `if`'s else path: an `elif` is an `if` alone in it."""
    if stmt.orelse is None:
        return []
    if isinstance(stmt.orelse, cst.If):
        return [stmt.orelse]
    return block_statements(stmt.orelse.body)


def small_statements(fn: cst.FunctionDef):
    """(statement, is_last) for every statement, compound statements included as they are,
    but for placeholders (see `placeholder`)."""
    flat = _flat_body(fn)
    dropped = placeholders(fn, flat)
    kept = [stmt for stmt in flat if id(stmt) not in dropped]
    return [(s, i == len(kept) - 1) for i, s in enumerate(kept)]


def _flat_body(fn: cst.FunctionDef) -> list:
    """The function's top-level statements, `a = 1; b = 2` split."""
    return [s for stmt in function_body(fn) for s in (
        stmt.body if isinstance(stmt, cst.SimpleStatementLine) else [stmt])]


def placeholders(fn: cst.FunctionDef, flat=None) -> dict[int, list[str]]:
    """{id of the statement: its names} of the function's top-level placeholders."""
    flat = _flat_body(fn) if flat is None else flat
    if not any(placeholder(stmt, set()) for stmt in flat):
        return {}  # (the common case: no walk of what the statements assign)
    bound = set(param_names(fn))
    found = {}
    for stmt in flat:
        if placeholder(stmt, bound):
            found[id(stmt)] = assigned_in([stmt])
        else:
            bound.update(assigned_in([stmt]))
    return found


def placeholder_names(fn) -> set[str]:
    """The names the function's top-level placeholders bind (`out, cache = None, None`)."""
    if not isinstance(fn, cst.FunctionDef):
        return set()  # (a lambda)
    return {name for names in placeholders(fn).values() for name in names}


def placeholder(stmt, bound: set[str]) -> bool:
    """`out = None`, `out, cache = None, None` at the top of a function body, as the CS231n
    skeletons begin, for names nothing bound before: the names stay unassigned until their
    real assignment (a read before it is the fence's AD203), as Python would fail on None."""
    if not isinstance(stmt, cst.Assign) or len(stmt.targets) != 1:
        return False
    target, value = stmt.targets[0].target, stmt.value
    pairs = [(target, value)]
    if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
        if len(target.elements) != len(value.elements):
            return False
        pairs = [(t.value, v.value) for t, v in zip(target.elements, value.elements)]
    return all(isinstance(t, cst.Name) and t.value not in bound and isinstance(v, cst.Name)
               and v.value == "None" for t, v in pairs)


def assigned_names(fn: cst.FunctionDef) -> set[str]:
    """Every name the function assigns (so Python treats it as local), in nested blocks too."""
    return set(assigned_in(function_body(fn)))


def assigned_in(statements, subscripts: bool = False, in_place: bool = False) -> list[str]:
    """The names a block assigns, nested blocks and loop variables included, in the order
    of their first assignment in the source; with `subscripts`, also the arrays it assigns
    into (`hs[:, t, :] = h` gives the array a new value too); with `in_place`, only the
    names it may update in place (`z += y`, `z[0] = v`: an array changes in place)."""
    names: list[str] = []

    def targets(target: cst.BaseExpression, augmented: bool = False) -> list[str]:
        if (subscripts or in_place) and isinstance(target, cst.Subscript) and \
                isinstance(target.value, cst.Name):
            return [target.value.value]
        if in_place and not (augmented and isinstance(target, cst.Name)):
            return []
        return _ordered_targets(target)

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                visit(small)
            return
        if isinstance(node, cst.Assign):
            for target in node.targets:
                names.extend(targets(target.target))
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            if not isinstance(node, cst.AnnAssign) or node.value is not None:
                names.extend(targets(node.target, isinstance(node, cst.AugAssign)))
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            if not in_place:
                names.append(node.name.value)
        elif isinstance(node, cst.BaseCompoundStatement):
            if isinstance(node, cst.For):
                names.extend(targets(node.target))
            for child in children(node):
                if isinstance(child, (cst.BaseSuite, cst.BaseStatement, cst.Else,
                                      cst.ExceptHandler, cst.Finally, cst.If)):
                    visit(child)
        elif isinstance(node, (cst.BaseSuite, cst.Else, cst.ExceptHandler, cst.Finally)):
            for child in children(node):
                visit(child)

    for stmt in statements:
        visit(stmt)
    return list(dict.fromkeys(names))


def _ordered_targets(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for el in target.elements for n in _ordered_targets(el.value)]
    return []


def _target_names(target: cst.BaseExpression, into: set[str]) -> None:
    if isinstance(target, cst.Name):
        into.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for el in target.elements:
            _target_names(el.value, into)


def called_functions(scope, node: cst.CSTNode) -> list[str]:
    """The functions of the same file a function calls directly, in order."""
    found: list[str] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Name) \
                and current.func.value in scope.functions:
            found.append(current.func.value)
        pending.extend(reversed(children(current)))
    return list(dict.fromkeys(found))


def returns_cache(value) -> bool:
    """`return out, cache`: two values, the second named like a cache (`cache`,
    `fc_cache`) -- the CS231n layer convention (docs/structure.md)."""
    return isinstance(value, cst.Tuple) and len(value.elements) == 2 and \
        isinstance(value.elements[1], cst.Element) and \
        isinstance(value.elements[1].value, cst.Name) and \
        "cache" in value.elements[1].value.value.lower()
