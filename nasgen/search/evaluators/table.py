"""``table:FILE``: a tabular benchmark as an evaluator (NAS-Bench-201 and tables of your own).

Pipeline stage: search (.cell text -> **metrics** by lookup). Imports ``nasgen.dsl``,
``nasgen.review`` and ``nasgen.errors``; never a framework.

A table is a CSV file (gzipped when its name ends in ``.gz``) with a header row. One column is
the key: ``arch`` (a NAS-Bench-201 arch string, matched against the architecture's own NB-201
string) or ``hash`` (``nasgen hash`` of the architecture, for any space). Every other column
that holds numbers is a metric, except ``index``; a column named ``cost`` is the simulated
seconds an evaluation costs (NB-201's training time, say), so "best within a time budget"
protocols run in seconds. ``table:nb201`` is the bundled NAS-Bench-201 12-epoch table
(``nasgen/search/data/README.md``).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from importlib import resources
from pathlib import Path

from nasgen.dsl import parse_text, resolve
from nasgen.dsl.foreign import export_nb201
from nasgen.errors import NasgenError
from nasgen.review import architecture_hash
from nasgen.search.base import Evaluation

__all__ = ["BUNDLED_TABLES", "MAX_TABLE_BYTES", "TableEvaluator", "open_table"]

BUNDLED_TABLES = {"nb201": "nb201_12epoch.csv.gz"}
MAX_TABLE_BYTES = 512 << 20
"""A table larger than 512 MiB (uncompressed) is refused: the bundled one is 2 MiB."""
_KEYS = ("arch", "hash")
_IGNORED = ("index",)


def _read_bytes(spec: str) -> tuple[str, bytes]:
    if spec in BUNDLED_TABLES:
        entry = resources.files("nasgen") / "search" / "data" / BUNDLED_TABLES[spec]
        return f"table:{spec}", entry.read_bytes()
    path = Path(spec)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_TABLE_BYTES + 1)
    except FileNotFoundError:
        raise NasgenError(
            "E830",
            f"table {spec}: no such file",
            hint=f"a CSV file (.csv or .csv.gz), or a bundled table: {', '.join(BUNDLED_TABLES)}",
        ) from None
    except OSError as err:
        raise NasgenError("E830", f"table {spec}: cannot read: {err.strerror or err}") from None
    return spec, data


def _decompress(where: str, data: bytes) -> str:
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                data = fh.read(MAX_TABLE_BYTES + 1)
        except (OSError, EOFError) as err:
            raise NasgenError("E831", f"{where}: broken gzip file ({err})") from None
    if len(data) > MAX_TABLE_BYTES:
        raise NasgenError("E831", f"{where}: over {MAX_TABLE_BYTES >> 20} MiB; not a table")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NasgenError("E831", f"{where}: not a UTF-8 CSV file") from None


def _number(where: str, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise NasgenError(
            "E831", f"{where}:{line}: column {column!r} holds {text[:30]!r}, not a number"
        ) from None
    if not math.isfinite(value):
        raise NasgenError("E831", f"{where}:{line}: column {column!r} is {text!r}")
    return value


def open_table(spec: str) -> tuple[str, str, tuple[str, ...], dict[str, dict[str, float]]]:
    """Read a table: (name, key column, metric columns, key -> metrics)."""
    where, data = _read_bytes(spec)
    reader = csv.reader(io.StringIO(_decompress(where, data)))
    header = next(reader, None)
    if not header:
        raise NasgenError("E831", f"{where}: empty table")
    key = next((k for k in _KEYS if k in header), None)
    if key is None:
        raise NasgenError(
            "E831",
            f"{where}: no key column; the header is {', '.join(header[:8])}",
            hint="name the key column `arch` (NB-201 strings) or `hash` (nasgen hash)",
        )
    metrics = tuple(c for c in header if c != key and c not in _IGNORED)
    rows: dict[str, dict[str, float]] = {}
    for line, row in enumerate(reader, start=2):
        if len(row) != len(header):
            raise NasgenError(
                "E831", f"{where}:{line}: {len(row)} fields, the header has {len(header)}"
            )
        record = dict(zip(header, row, strict=True))
        rows[record[key]] = {m: _number(where, line, m, record[m]) for m in metrics}
    return where, key, metrics, rows


class TableEvaluator:
    """Metrics of an architecture looked up in a table (see the module docstring)."""

    def __init__(self, spec: str) -> None:
        """Read the table ``spec``: a bundled name (``nb201``) or a CSV path."""
        where, key, metrics, rows = open_table(spec)
        self.name = where if where.startswith("table:") else f"table:{where}"
        self.key = key
        self.metrics = tuple(m for m in metrics if m != "cost")
        self.has_cost = "cost" in metrics
        self._rows = rows

    def key_of(self, text: str) -> str:
        """The table key of an architecture's text."""
        module = parse_text(text)
        if self.key == "hash":
            return architecture_hash(resolve(module))
        try:
            return export_nb201(module)
        except NasgenError as err:
            raise NasgenError(
                "E832",
                f"{self.name} is keyed by NB-201 strings; this cell has none ({err.message})",
            ) from None

    def evaluate(self, text: str, seed: int) -> Evaluation:
        """The table's row for ``text`` (the seed is unused: a table holds one value each)."""
        key = self.key_of(text)
        row = self._rows.get(key)
        if row is None:
            return Evaluation(error=f"{self.name} has no row for {key}")
        metrics = {m: row[m] for m in self.metrics}
        return Evaluation(metrics, row.get("cost", 0.0))
