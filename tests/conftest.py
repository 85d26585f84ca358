"""Shared test options: `--update-golden` rewrites golden files instead of comparing them."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files (examples' generated modules) instead of "
                     "failing when they differ")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """`--update-golden` runs in this process, not in pytest-xdist workers (pyproject's
    addopts ask for `-n auto`): one test rewrites each golden file and later tests of
    tests/test_examples.py read it, so they must run in order."""
    if config.getoption("--update-golden") and getattr(config.option, "numprocesses", None):
        config.option.numprocesses = 0
        config.option.dist = "no"
        config.option.tx = []


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture
def root() -> pathlib.Path:
    return ROOT


def upstream_name(grad_fn, *args, **kwargs) -> str:
    """The name of a gradient function's upstream-gradient parameter (its last); for the
    dispatcher of a function of arrays, that of its specialisation for these arguments."""
    import inspect

    target = grad_fn.specialization(*args, **kwargs) if hasattr(grad_fn, "specialization") \
        else grad_fn
    return list(inspect.signature(target).parameters)[-1]
