"""Fixtures the one-shot tests import: one torch thread, the digits split in halves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from nasgen.training.data import DataSet, load_data, split_data


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digit_halves() -> tuple[DataSet, DataSet]:
    """The embedded digits: the weights' half and the architecture's half (DARTS's split)."""
    return split_data(load_data("digits"), 0.5, 0)
