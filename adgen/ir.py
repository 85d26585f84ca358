"""The intermediate representation: small frozen dataclasses, no libcst types.

Two layers:

* expressions (`Name`, `Num`, `BinOp`, `Neg`, `Call`, `IfExp`, `Compare`) — the leaves are the
  operands of staged statements; whole trees are what derivative templates expand to and what
  the emitter prints;
* statements of the staged forward function (`Assign`: one primitive applied to operands) and of
  the backward pass (`GradAssign`, grouped per forward statement in `BackwardBlock`).

A `Function` holds the staged forward body; blocks for `if`/`for`/`while` join `Assign` as
statement kinds when control flow is added, which is why bodies are tuples of `Stmt`.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Optional, Union


@dataclasses.dataclass(frozen=True)
class Pos:
    """A position in the user's file: 1-based line and 1-based column."""

    line: int
    col: int


# ---------------------------------------------------------------- expressions


@dataclasses.dataclass(frozen=True)
class Name:
    id: str


@dataclasses.dataclass(frozen=True)
class Num:
    """A numeric constant; `text` is how it is printed (as the user wrote it, when they did)."""

    value: float | int
    text: str = ""

    def __post_init__(self) -> None:
        if not self.text:
            object.__setattr__(self, "text", repr(self.value))


@dataclasses.dataclass(frozen=True)
class BinOp:
    op: str  # one of + - * / ** @
    left: "Expr"
    right: "Expr"


@dataclasses.dataclass(frozen=True)
class Neg:
    operand: "Expr"


@dataclasses.dataclass(frozen=True)
class Call:
    func: str  # dotted name as printed: "math.exp", "abs", "max", "np.sum"
    args: tuple["Expr", ...]
    kwargs: tuple[tuple[str, "Expr"], ...] = ()


@dataclasses.dataclass(frozen=True)
class Method:
    """`obj.name(*args, **kwargs)`: `x.sum(axis=0)`."""

    obj: "Expr"
    name: str
    args: tuple["Expr", ...] = ()
    kwargs: tuple[tuple[str, "Expr"], ...] = ()


@dataclasses.dataclass(frozen=True)
class Field:
    """`obj.name` of a value: `x.T`, `x.shape`."""

    obj: "Expr"
    name: str


@dataclasses.dataclass(frozen=True)
class Lit:
    """A non-numeric constant printed as written: True, False, None."""

    text: str


@dataclasses.dataclass(frozen=True)
class Tuple:
    """`(a, b)`; with `brackets`, the list display `[a, b]` (a list the code builds)."""

    items: tuple["Expr", ...]
    brackets: bool = False


@dataclasses.dataclass(frozen=True)
class Slice:
    """`lower:upper:step` inside an index (each part may be None)."""

    lower: Optional["Expr"] = None
    upper: Optional["Expr"] = None
    step: Optional["Expr"] = None


@dataclasses.dataclass(frozen=True)
class Index:
    """`obj[item]`, e.g. `x.shape[0]`."""

    obj: "Expr"
    item: "Expr"


@dataclasses.dataclass(frozen=True)
class Attr:
    """A module attribute used as a value: `math.pi`."""

    dotted: str


@dataclasses.dataclass(frozen=True)
class Compare:
    left: "Expr"
    ops: tuple[str, ...]  # < <= > >= == !=
    comparators: tuple["Expr", ...]


@dataclasses.dataclass(frozen=True)
class IfExp:
    test: "Expr"
    body: "Expr"
    orelse: "Expr"


Expr = Union[Name, Num, BinOp, Neg, Call, Attr, Compare, IfExp, Method, Field, Lit, Tuple,
             Index, Slice]
Operand = Union[Name, Num, Attr, Lit]  # Lit: a static constant, 'train' or None


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of an expression."""
    get = _CHILDREN.get(type(expr))
    return get(expr) if get is not None else ()


# by exact type (no class derives from an expression class): one dictionary lookup instead of
# a chain of isinstance tests, which walks of every generated expression paid at every leaf
_CHILDREN = {
    BinOp: lambda e: (e.left, e.right),
    Neg: lambda e: (e.operand,),
    Call: lambda e: e.args + tuple(v for _, v in e.kwargs),
    Method: lambda e: (e.obj, *e.args, *(v for _, v in e.kwargs)),
    Field: lambda e: (e.obj,),
    Tuple: lambda e: e.items,
    Index: lambda e: (e.obj, e.item),
    Slice: lambda e: tuple(p for p in (e.lower, e.upper, e.step) if p is not None),
    IfExp: lambda e: (e.test, e.body, e.orelse),
    Compare: lambda e: (e.left, *e.comparators),
}


def walk(expr: Expr):
    """Every node of an expression tree, the root first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        get = _CHILDREN.get(type(node))
        if get is not None:
            stack.extend(reversed(get(node)))


# ---------------------------------------------------------------- forward statements


@dataclasses.dataclass(frozen=True)
class Assign:
    """`target = prim(*args)`: one primitive (a rule name) applied to operands.

    `user` is the name the user wrote when this statement defines a user variable (so the
    target may be a versioned `h_1` of user name `h`); None for intermediates adgen invented.
    `attrs` are the primitive's static arguments (`axis`, `keepdims`), as (name, value) pairs
    of Python constants.
    """

    target: str
    prim: str
    args: tuple[Operand, ...]
    pos: Pos
    user: str | None = None
    attrs: tuple[tuple[str, object], ...] = ()
    types: tuple = ()  # the operands' shapes.VType, when the function uses arrays
    via: str = ""  # for a helper's inlined statement: "helper, called on line N"


@dataclasses.dataclass(frozen=True)
class If:
    """`if test: body else: orelse`.  `test` is a name the forward pass computed (a recorded
    condition the backward pass tests again).  A variable assigned on either path and read
    afterwards is assigned under the same (merged) name on both paths."""

    test: Operand
    body: tuple["Stmt", ...]
    orelse: tuple["Stmt", ...]
    pos: Pos
    key: int = 0  # unique within the function


@dataclasses.dataclass(frozen=True)
class Loop:
    """`for index in range(*bounds)` (kind "for") or `while test` (kind "while").

    `carried` are the loop-carried variables: (name, value at the end of the body) -- `name`
    holds the value on entry to each iteration and after the loop, and the end of each
    iteration assigns it (`h = h_1`).  A while loop's condition is computed by `header`
    (before the loop and again at the end of each iteration) into `test`, and `counter`
    counts the iterations for the backward pass."""

    kind: str
    body: tuple["Stmt", ...]
    carried: tuple[tuple[str, Operand], ...]
    pos: Pos
    index: Optional[str] = None
    bounds: tuple[Operand, ...] = ()
    header: tuple["Stmt", ...] = ()
    test: Optional[Operand] = None
    counter: Optional[str] = None
    key: int = 0  # unique within the function


@dataclasses.dataclass(frozen=True)
class Raise:
    """`raise <exception>` as the user wrote it (`text`, which reads only parameters and
    module-level names): a check of the forward pass, on a path that never goes on (an
    `assert` is an `If` whose failing path is a Raise).  It has no backward pass."""

    text: str
    pos: Pos


Stmt = Union[Assign, If, Loop, Raise]


def raises(stmts) -> bool:
    """Whether a block never goes on: it ends in a raise (on every path of a final if)."""
    if not stmts:
        return False
    last = stmts[-1]
    return isinstance(last, Raise) or (isinstance(last, If) and raises(last.body)
                                       and raises(last.orelse))


def assigns(stmts) -> "Iterator[Assign]":
    """Every Assign in a statement tree, in source order (loop headers included)."""
    for stmt in stmts:
        if isinstance(stmt, Assign):
            yield stmt
        elif isinstance(stmt, Raise):
            continue
        elif isinstance(stmt, If):
            yield from assigns(stmt.body)
            yield from assigns(stmt.orelse)
        else:
            yield from assigns(stmt.header)
            yield from assigns(stmt.body)


def loops(stmts) -> "Iterator[Loop]":
    """Every loop in a statement tree, outer loops first."""
    for stmt in stmts:
        if isinstance(stmt, If):
            yield from loops(stmt.body + stmt.orelse)
        elif isinstance(stmt, Loop):
            yield stmt
            yield from loops(stmt.body)


def is_flat(stmts) -> bool:
    return all(isinstance(s, Assign) for s in stmts)


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    default: str | None  # source text of the default value, if any
    pos: Pos
    keyword_only: bool = False  # after `*` (def loss(w, *, l2=1e-4)): stays so when generated


@dataclasses.dataclass(frozen=True)
class Member:
    """A value read out of a structured parameter by constant keys, `W1 = params['W1']`
    (adgen/members.py): read when the function starts, then used like a parameter.  `path`
    is a tuple of ("key", k), ("attr", name) or ("get", k) steps from `param`; `default` is
    the source text of a `.get` default."""

    name: str
    param: str
    path: tuple
    default: Optional[str] = None
    lists: tuple = ()  # the depths along `path` where a list (not a tuple) holds it
    # `p.get('k', np.zeros(D))` whose default reads a local: read at the start without its
    # default (None when the key is absent); the default is staged where the .get is, and
    # `member_or` picks the entry or the default there (stage_expressions.late_member)
    late: bool = False


@dataclasses.dataclass(frozen=True)
class ModuleConst:
    """A module-level numeric constant the function reads: emitted verbatim into the output."""

    name: str
    text: str
    value: float
    pos: Pos


@dataclasses.dataclass(frozen=True)
class Function:
    """A staged forward function: `body` (statements, branches and loops), result in
    `output`."""

    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    output: Operand
    output_stem: str  # the name the upstream gradient is called after: d<output_stem>
    consts: tuple[ModuleConst, ...]
    path: str
    pos: Pos
    types: dict = dataclasses.field(default_factory=dict)  # name -> shapes.VType (arrays)
    # parameters' facts that did not come from annotations: (name, facts.Fact), listed in
    # the module header and checked by the generated function (adgen/facts.py)
    facts: tuple = ()
    members: tuple = ()  # Member: values read out of structured parameters (members.py)
    # `return out, cache` (a layer keeping its own cache): the cache as staged, a structure
    # of operands (containers.py), and its source text; the output is `out`
    cache: object = None
    # `return out, cache` whose cache is None on some path or built differently on two:
    # (name, Pos, why).  The gradient of out stands; NAME_backward is left out (no cache to
    # unpack), and the module header says why
    cache_note: Optional[tuple] = None

    @property
    def keeps_cache(self) -> bool:
        """`return out, cache`: out is what is differentiated (with or without a
        NAME_backward for the cache)."""
        return self.cache is not None or self.cache_note is not None

    @property
    def output_type(self):
        return self.types.get(self.output.id) if isinstance(self.output, Name) else None

    @property
    def inputs(self) -> list[str]:
        """What the caller gives: the parameters, then the members read out of them."""
        return [p.name for p in self.params] + [m.name for m in self.members]


# ---------------------------------------------------------------- backward statements


@dataclasses.dataclass(frozen=True)
class GradAssign:
    """`target = expr` (first contribution) or `target += expr` (later ones); with `rebind`,
    a later contribution is written `target = target + expr`: for arrays whose buffer the
    backward pass does not own (an alias of another gradient, or the caller's `dout`), where
    an in-place `+=` would write into someone else's array."""

    target: str
    expr: Expr
    accumulate: bool
    rebind: bool = False


@dataclasses.dataclass(frozen=True)
class GradScatter:
    """An indexed operand's gradient: `target[index] += expr` (basic indexing), or
    `np.add.at(target, index, expr)` (integer-array indexing, where an index may repeat and
    its contributions must add up).  With `init`, the gradient array starts as
    `np.zeros_like(init)`; with `copy`, as a copy of itself (it was an alias)."""

    target: str
    index: Expr
    expr: Expr
    fancy: bool
    init: Optional[Expr] = None
    copy: bool = False


@dataclasses.dataclass(frozen=True)
class GradMasked:
    """The gradient through `x[index] = v` to x: the upstream gradient with the assigned
    positions zeroed, `target = source.copy(); target[index] = 0.0`.  With `temp`, that is
    built in `temp` and added to the existing `target` (in place, or rebinding it when the
    backward pass does not own target's array)."""

    target: str
    source: Expr
    index: Expr
    temp: Optional[str] = None
    rebind: bool = False


@dataclasses.dataclass(frozen=True)
class StepAppend:
    """`steps.append(value)`: one iteration's factor of a product that the backward loop
    accumulates, kept for one product after the loop (optimize.batch_products)."""

    steps: str
    value: str


@dataclasses.dataclass(frozen=True)
class BackwardBlock:
    """The backward statements that differentiate one forward statement."""

    origin: Assign
    stmts: tuple[Union[GradAssign, GradScatter, GradMasked], ...]


@dataclasses.dataclass(frozen=True)
class GradZero:
    """`target = 0.0` (a float) or `target = np.zeros_like(like)`: a gradient with no
    contribution on some path, or an accumulator set up before a backward loop."""

    target: str
    like: str
    array: bool


@dataclasses.dataclass(frozen=True)
class BackwardIf:
    """The backward pass of an `if`: the same recorded test, each path's statements reversed."""

    origin: If
    body: tuple["BackwardItem", ...]
    orelse: tuple["BackwardItem", ...]


@dataclasses.dataclass(frozen=True)
class BackwardLoop:
    """The backward pass of a loop: `before` it the accumulators of gradients flowing out of
    the loop; each iteration, in reverse order, pops the values it needs (`restores`: (name,
    stack)), hands the carried variables' gradients to their end-of-body values (`entry`),
    runs the reversed body, and zeroes carried gradients that got no contribution (`after`).
    What each iteration saves and restores is in `Gradient.saved`."""

    origin: Loop
    before: tuple[GradZero, ...]
    entry: tuple[GradAssign, ...]
    body: tuple["BackwardItem", ...]
    after: tuple[GradZero, ...]
    # batched products (optimize.batch_products, only in the printed backward pass): the
    # lists set up before the loop, each appended to once per iteration (`StepAppend`), and
    # the accumulations done after the loop with their factors concatenated
    steps: tuple[str, ...] = ()
    batched: tuple[GradAssign, ...] = ()
    step_values: tuple[str, ...] = ()  # what each of `steps` collects (the same order)


BackwardItem = Union[BackwardBlock, BackwardIf, BackwardLoop]


@dataclasses.dataclass(frozen=True)
class Gradient:
    """A differentiated function: the forward statements it needs, then the backward blocks."""

    function: Function
    wrt: tuple[str, ...]
    forward: tuple[Stmt, ...]
    blocks: tuple[BackwardItem, ...]
    zeros: tuple[tuple[str, str], ...]  # (gradient name, input) for inputs with no path
    grad_names: dict[str, str]  # variable -> its gradient's name
    seed: str  # name of the upstream-gradient parameter
    single: bool = False  # return the one gradient itself rather than a 1-tuple
    copies: tuple[str, ...] = ()  # returned array gradients that would be views or aliases
    # (loop or branch key, path) -> ((value, stack), ...): what a block inside a loop pushes
    # at its end for the backward pass, which pops it at the start of the reversed block;
    # path is "body" or "orelse" (of an if)
    saved: dict = dataclasses.field(default_factory=dict)
    # the name NAME_value_and_grad returns the value under when the backward pass restores
    # the output's own name (a loop-carried output), else None
    result: Optional[str] = None
    # every name the generated function uses or reserves (naming.Names at the end of
    # reverse): the printed backward pass takes further names (batched lists) outside it
    taken: frozenset = frozenset()
    # what NAME_grad returns, per requested input: (name, None) for a parameter's gradient
    # (d<name>), (name, ((key, member), ...)) for a structured one: {key: d<member>, ...}
    outputs: tuple = ()
    # a specialisation for float arrays of one dtype: elementwise steps may compute into an
    # array nothing reads again (adgen/inplace.py)
    inplace: bool = False


def backward_nodes(items):
    """Every node of a backward tree: each branch and loop itself, then what it holds; the
    gradient statements of each block."""
    for item in items:
        if isinstance(item, BackwardBlock):
            yield from item.stmts
        elif isinstance(item, BackwardIf):
            yield item
            yield from backward_nodes(item.body + item.orelse)
        elif isinstance(item, BackwardLoop):
            yield item
            yield from item.before + item.entry + item.after
            yield from backward_nodes(item.body)
            yield from item.batched
        else:
            yield item


def backward_reads(items) -> set[str]:
    """Every name the backward pass reads (forward values among them)."""
    exprs: list = []
    for node in backward_nodes(items):
        if isinstance(node, GradAssign):
            exprs.append(node.expr)
        elif isinstance(node, GradScatter):
            exprs += [node.index, node.expr] + ([node.init] if node.init is not None else [])
        elif isinstance(node, GradMasked):
            exprs += [node.source, node.index]
        elif isinstance(node, GradZero):
            exprs.append(Name(node.like))
        elif isinstance(node, StepAppend):
            exprs.append(Name(node.value))
        elif isinstance(node, BackwardIf):
            exprs.append(node.origin.test)
        else:
            exprs += list(node.origin.bounds)
            if node.origin.counter:
                exprs.append(Name(node.origin.counter))
    return {n.id for e in exprs for n in walk(e) if isinstance(n, Name)}


def defined_on_all_paths(stmts) -> set[str]:
    """Names a block assigns whichever way its branches go (loop bodies may not run)."""
    defined: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, Assign):
            defined.add(stmt.target)
        elif isinstance(stmt, Raise):
            continue
        elif isinstance(stmt, If):  # (a path that raises never goes on: the other's count)
            body, orelse = defined_on_all_paths(stmt.body), defined_on_all_paths(stmt.orelse)
            defined |= orelse if raises(stmt.body) else body if raises(stmt.orelse) \
                else body & orelse
        else:
            defined |= {c for c, _ in stmt.carried}
            if stmt.counter:
                defined.add(stmt.counter)
            defined |= defined_on_all_paths(stmt.header)  # its test (`and` makes branches)
    return defined
