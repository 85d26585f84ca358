"""The parameters of a function, in the one place that lists them.

A differentiated function (and a helper it calls) may have positional-only, positional and
keyword-only parameters (`def loss(w, X, y, *, l2=1e-4)`); `*args` and `**kwargs` are
refused by the fence (AD103).  The keyword-only ones stay keyword-only in the generated
gradient (`def loss_grad(w, X, y, *, l2=0.0001, dloss=1.0)`), so a call of it, or of the
function itself, passes their values by keyword (`split_call`)."""

from __future__ import annotations

from typing import Sequence

import libcst as cst


def all_params(fn) -> list[cst.Param]:
    """Every named parameter of a FunctionDef (or a Lambda), in order: positional-only,
    positional, then keyword-only."""
    p = fn.params
    return list(p.posonly_params) + list(p.params) + list(p.kwonly_params)


def positional_params(fn) -> list[cst.Param]:
    """The parameters a positional argument can bind (not the keyword-only ones)."""
    return list(fn.params.posonly_params) + list(fn.params.params)


def param_names(fn) -> list[str]:
    return [p.name.value for p in all_params(fn)]


def split_call(params: Sequence, values: Sequence) -> tuple[list, dict]:
    """`values` given in parameter order (ir.Param, which knows whether it is keyword-only)
    as the positional arguments and the keywords of a call."""
    args = [v for p, v in zip(params, values) if not p.keyword_only]
    kwargs = {p.name: v for p, v in zip(params, values) if p.keyword_only}
    return args, kwargs
