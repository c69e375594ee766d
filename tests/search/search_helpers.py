"""Helpers of the search tests: a synthetic NB-201 table and journal rows without timings."""

from __future__ import annotations

import csv
import gzip
import itertools
import random
from pathlib import Path

from nasgen.dsl.foreign import export_nb201
from nasgen.search.journal import TIMING_COLUMNS, Journal
from nasgen.space import load_space


def synthetic_table(path: Path, *, seed: int = 0, drop: int = 0, cost: bool = False) -> Path:
    """A table over every NB-201 cell with seeded metrics (``drop`` cells left out)."""
    space = load_space("nb201")
    rng = random.Random(seed)
    sizes = [d.size for d in space.decisions()]
    rows = []
    for vector in itertools.product(*(range(s) for s in sizes)):
        arch = export_nb201(space.decode(vector))
        row = [arch, f"{rng.uniform(10, 90):.4f}", f"{rng.uniform(10, 90):.4f}"]
        rows.append([*row, f"{rng.uniform(100, 200):.1f}"] if cost else row)
    rng.shuffle(rows)
    rows = rows[drop:]
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as fh:  # type: ignore[operator]
        writer = csv.writer(fh)
        writer.writerow(["arch", "valid", "test", *(["cost"] if cost else [])])
        writer.writerows(rows)
    return path


def content_rows(directory: Path) -> list[tuple[object, ...]]:
    """The journal's trial rows without the columns that say when and where."""
    journal = Journal.open(directory)
    columns = journal.columns()
    keep = [i for i, c in enumerate(columns) if c not in TIMING_COLUMNS]
    rows = [tuple(r[i] for i in keep) for r in journal.rows()]
    journal.close()
    return rows
