"""Load the test corpus: modules in tests/corpus/, their functions, declared inputs and points."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import pathlib
import random
from types import FunctionType, ModuleType, SimpleNamespace
from typing import Optional, Union

import numpy as np

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"


@dataclasses.dataclass(frozen=True)
class Case:
    path: pathlib.Path
    module: ModuleType
    name: str
    inputs: dict[str, tuple[float, float]]
    wrt: Union[None, str, tuple[str, ...]]
    shapes: str = ""  # the CLI's --shapes, where the code cannot tell (SHAPES)

    @property
    def function(self) -> FunctionType:
        return getattr(self.module, self.name)

    @property
    def id(self) -> str:
        return f"{self.path.stem}.{self.name}"

    def points(self, count: int = 3, seed: int = 0) -> list[list]:
        """Reproducible points: declared inputs sampled in their intervals (scalars), or
        arrays of the declared shape, defaults kept."""
        rng = random.Random(f"{self.id}:{seed}")
        nprng = np.random.default_rng(rng.randrange(2 ** 32))
        sig = inspect.signature(self.function)
        points = []
        for _ in range(count):
            point = []
            for name, param in sig.parameters.items():
                spec = self.inputs.get(name)
                point.append(param.default if spec is None else _sample(spec, rng, nprng))
            points.append(point)
        return points

    @property
    def keyword_only(self) -> frozenset:
        """The function's keyword-only parameters (`def loss(w, *, l2=1e-4)`): a point gives
        every parameter's value in order, a call passes these by keyword (`split`)."""
        return frozenset(name for name, p in inspect.signature(self.function).parameters.items()
                         if p.kind is inspect.Parameter.KEYWORD_ONLY)

    def split(self, point) -> tuple[list, dict]:
        """A point as a call's positional arguments and keywords."""
        names = list(inspect.signature(self.function).parameters)
        return ([v for n, v in zip(names, point) if n not in self.keyword_only],
                {n: v for n, v in zip(names, point) if n in self.keyword_only})

    def call(self, fn, point, **extra):
        """`fn` (the function, or a gradient of it) called at `point`; `extra` keywords
        (the upstream gradient) added."""
        args, kwargs = self.split(point)
        if fn is self.function and self.name in getattr(self.module, "LAYERS", ()):
            return fn(*args, **kwargs, **extra)[0]  # return out, cache: out is the output
        return fn(*args, **kwargs, **extra)

    @property
    def has_arrays(self) -> bool:
        return any(isinstance(spec, dict) or not isinstance(spec[0], (int, float))
                   for spec in self.inputs.values())


def _sample(spec, rng, nprng):
    """A value for a declared input: (low, high) a float; (shape, low, high) a float array;
    ("int", shape, low, high) an integer array (an int for shape None); ("bool", shape) a boolean mask; ("tuple", spec, ...) a tuple of values; ("list", spec, ...) a list; ("object", {name: spec}) an object with those attributes; a dict of such specs (or numbers, kept as
    they are) a dict of values, as a parameter dict `params['W1']` is; a string or None
    itself, as a static argument `mode='test'` is."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return {k: v if isinstance(v, (int, float)) else _sample(v, rng, nprng)
                for k, v in spec.items()}
    if isinstance(spec[0], tuple):  # (shape, low, high): a float array
        shape, low, high = spec
        return nprng.uniform(low, high, size=shape)
    if spec[0] == "tuple":  # ("tuple", spec, spec, ...): a tuple of values
        return tuple(_sample(item, rng, nprng) for item in spec[1:])
    if spec[0] == "list":  # ("list", spec, spec, ...): a list of values (of layers)
        return [_sample(item, rng, nprng) for item in spec[1:]]
    if spec[0] == "object":  # ("object", {attribute: spec}): an object with attributes
        return SimpleNamespace(**_sample(spec[1], rng, nprng))
    if spec[0] == "bool":  # ("bool", shape): a boolean mask
        return nprng.random(spec[1]) > 0.5
    if spec[0] == "int":  # ("int", shape, low, high): an integer array (shape None: an int)
        _, shape, low, high = spec
        return nprng.integers(low, high, size=shape) if shape is not None else \
            int(nprng.integers(low, high))
    low, high = spec
    return rng.uniform(low, high)


def load_module(path: pathlib.Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"adgen_corpus_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cases(only: Optional[str] = None) -> list[Case]:
    found = []
    for path in sorted(CORPUS.glob("*.py")):
        if path.name.startswith("_") or (only and path.stem != only):
            continue
        module = load_module(path)
        inputs = getattr(module, "INPUTS")
        wrt = getattr(module, "WRT", {})
        given = getattr(module, "SHAPES", {})
        for name in inputs:
            found.append(Case(path, module, name, inputs[name], wrt.get(name),
                              given.get(name, "")))
    return found
