"""Shared pytest configuration: the ``--update-golden`` option (see tests/golden)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the files under tests/golden instead of comparing against them",
    )
