"""Shared test options: `--update-golden` rewrites golden files instead of comparing them."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files (examples' generated modules) instead of "
                     "failing when they differ")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture
def root() -> pathlib.Path:
    return ROOT
