"""The search journal: ``DIR/journal.sqlite``, the one source of truth of a search.

Pipeline stage: search. Imports ``sqlite3`` (the standard library), ``nasgen.errors`` and
``nasgen.search.base``; never a framework.

NOTE: [What survives a kill -9] SQLite in WAL mode: every write is a transaction, and a
transaction that committed survives the process being killed at any moment (``synchronous =
NORMAL``: a power cut may lose the last commits, never consistency). The loop writes
  1. a proposal together with the strategy state after the ``ask`` that made it;
  2. an evaluation's result when it arrives (in any order);
  3. each ``tell`` (in proposal order) together with the strategy state after it;
so a resumed search restores the last state, re-runs only the evaluations that never
finished, tells the finished ones it had not told, and goes on as if nothing happened.

Tables: ``meta`` (kind, format, the search's configuration), ``trials`` (one row a proposal:
choices, text, hash, status, cost, metrics, reward, error, timings, worker) and ``states``
(the strategy's ``state_dict`` at each step, zlib-compressed JSON) and ``blobs``: a state may
hold ``bytes`` (a controller's or a predictor's weights as safetensors), stored once by their
sha256 and referenced from the JSON as ``{"$blob": digest}``, so a state that did not change
its weights since the last step costs a few bytes, not megabytes. A one-shot search (DARTS,
ENAS) writes one trial an epoch (the derived cell, with the epoch's numbers) together with its
state and ``checkpoint``: one row, the supernet's weights and optimizer states after the
latest epoch, replaced in the same transaction (a supernet's megabytes are kept once, not
once an epoch). ``failures``: each time a worker was lost while running a trial (a killed
process, a lost node), before the trial ran again; a trial's row is still written once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasgen.errors import NasgenError
from nasgen.search.base import Evaluation, Proposal

__all__ = ["FORMAT", "JOURNAL_NAME", "Journal", "TrialRow"]

JOURNAL_NAME = "journal.sqlite"
FORMAT = 1
_KIND = "nasgen-search"
STATUSES = ("running", "rejected", "duplicate", "done", "failed")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trials (
    trial INTEGER PRIMARY KEY,
    choices TEXT NOT NULL,
    text TEXT NOT NULL,
    hash TEXT NOT NULL,
    status TEXT NOT NULL,
    same_as INTEGER,
    params INTEGER,
    macs INTEGER,
    reward REAL,
    metrics TEXT,
    cost REAL,
    error TEXT,
    seconds REAL,
    worker TEXT,
    proposed_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX trials_hash ON trials (hash);
CREATE TABLE states (
    step INTEGER PRIMARY KEY,
    asked INTEGER NOT NULL,
    told INTEGER NOT NULL,
    state BLOB NOT NULL
);
"""
_BLOBS = "CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, data BLOB NOT NULL)"
_CHECKPOINT = "CREATE TABLE IF NOT EXISTS checkpoint (name TEXT PRIMARY KEY, data BLOB NOT NULL)"
_FAILURES = (
    "CREATE TABLE IF NOT EXISTS failures (trial INTEGER NOT NULL, attempt INTEGER NOT NULL, "
    "error TEXT NOT NULL, worker TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (trial, attempt))"
)
_BLOB = "$blob"

TIMING_COLUMNS = ("seconds", "worker", "proposed_at", "finished_at")
"""Columns that say when and where, not what: they differ between two runs of one search."""


@dataclass(frozen=True, slots=True)
class TrialRow:
    """One row of ``trials``."""

    trial: int
    choices: tuple[int, ...]
    text: str
    arch_hash: str
    status: str
    same_as: int | None
    params: int | None
    macs: int | None
    reward: float | None
    metrics: dict[str, float]
    cost: float | None
    error: str | None
    seconds: float | None
    worker: str | None

    @property
    def finished(self) -> bool:
        """Whether nothing more will happen to this trial."""
        return self.status != "running"


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Journal:
    """Reads and writes one search's journal; the loop is its only writer."""

    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        """Wrap an open connection (use ``create`` or ``open``)."""
        self.directory = directory
        self.path = directory / JOURNAL_NAME
        self._conn = conn
        self._stored: dict[int, tuple[bytes, str]] = {}  # blobs this process wrote, by object
        try:
            config = json.loads(self._meta("config"))
        except ValueError as err:
            raise NasgenError(
                "E842", f"{self.path}: the stored configuration is broken ({err})"
            ) from None
        if not isinstance(config, dict):
            raise NasgenError("E842", f"{self.path}: the stored configuration is not an object")
        self.config: dict[str, Any] = config

    @classmethod
    def create(cls, directory: Path, config: Mapping[str, Any]) -> Journal:
        """A new journal in ``directory``, which must be new or empty."""
        path = directory / JOURNAL_NAME
        if path.exists():
            raise NasgenError(
                "E840",
                f"{directory} already holds a search",
                hint=f"continue it with `nasgen search --resume {directory}`, or choose another -o",
            )
        leftovers = [directory / f".{JOURNAL_NAME}.new{end}" for end in ("", "-wal", "-shm")]
        for leftover in leftovers:  # a creation killed before its rename: ours, incomplete
            leftover.unlink(missing_ok=True)
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise NasgenError(
                "E840",
                f"{directory} is not an empty folder; a search writes only into a new one",
                hint="choose another -o (nothing of yours is overwritten)",
            )
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = directory / f".{JOURNAL_NAME}.new"
            tmp.unlink(missing_ok=True)
            conn = _connect(tmp)
            conn.executescript(_SCHEMA)
            conn.execute(_BLOBS)
            conn.execute(_CHECKPOINT)
            conn.execute(_FAILURES)
            rows = [("kind", _KIND), ("format", str(FORMAT)), ("config", json.dumps(config))]
            conn.executemany("INSERT INTO meta VALUES (?, ?)", rows)
            conn.close()  # the last connection: the WAL is checkpointed into the file
            tmp.rename(path)  # a journal exists whole (with its configuration) or not at all
        except (OSError, sqlite3.Error) as err:
            raise NasgenError("E841", f"cannot create a journal in {directory}: {err}") from None
        return cls.open(directory)

    @classmethod
    def open(cls, directory: Path) -> Journal:
        """The journal of an existing search; a clear error for anything else."""
        path = directory / JOURNAL_NAME
        if not path.is_file():
            raise NasgenError(
                "E842",
                f"{directory}: no search journal ({JOURNAL_NAME}) here",
                hint="start a search with `nasgen search SPACE ... -o DIR`",
            )
        try:
            conn = _connect(path)
            kind = conn.execute("SELECT value FROM meta WHERE key = 'kind'").fetchone()
            fmt = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.Error as err:
            raise NasgenError("E842", f"{path}: not a nasgen search journal ({err})") from None
        if kind is None or kind[0] != _KIND:
            raise NasgenError("E842", f"{path}: an SQLite file, but not a nasgen search journal")
        if fmt is None or fmt[0] != str(FORMAT):
            raise NasgenError(
                "E842",
                f"{path}: journal format {fmt[0] if fmt else '?'}; this nasgen reads {FORMAT}",
            )
        conn.execute(_BLOBS)  # journals written before blobs existed have none yet
        conn.execute(_CHECKPOINT)
        return cls(directory, conn)

    def _meta(self, key: str) -> str:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise NasgenError("E842", f"{self.path}: the journal has no {key}")
        return str(row[0])

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def add(
        self,
        proposal: Proposal,
        status: str,
        state: Mapping[str, Any],
        told: int,
        *,
        params: int | None = None,
        macs: int | None = None,
        same_as: int | None = None,
        error: str | None = None,
    ) -> None:
        """Record a proposal and the strategy state after the ask that made it, atomically."""
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute(
                "INSERT INTO trials (trial, choices, text, hash, status, same_as, params, macs, "
                "error, proposed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    proposal.trial,
                    json.dumps(list(proposal.choices)),
                    proposal.text,
                    proposal.arch_hash,
                    status,
                    same_as,
                    params,
                    macs,
                    error,
                    time.time(),
                ),
            )
            self._save_state(proposal.trial + 1, told, state)

    def finish(
        self, trial: int, evaluation: Evaluation, reward: float | None, seconds: float, worker: str
    ) -> None:
        """Record an evaluation's outcome."""
        status = "failed" if evaluation.error is not None else "done"
        with self._conn:
            self._conn.execute(
                "UPDATE trials SET status = ?, reward = ?, metrics = ?, cost = ?, error = ?, "
                "seconds = ?, worker = ?, finished_at = ? WHERE trial = ? AND status = 'running'",
                (
                    status,
                    reward,
                    json.dumps(dict(evaluation.metrics), sort_keys=True),
                    evaluation.cost,
                    evaluation.error,
                    seconds,
                    worker,
                    time.time(),
                    trial,
                ),
            )

    def add_epoch(
        self,
        proposal: Proposal,
        evaluation: Evaluation,
        reward: float | None,
        state: Mapping[str, Any],
        checkpoint: bytes,
        *,
        params: int | None,
        macs: int | None,
        seconds: float,
        worker: str,
    ) -> None:
        """Record a one-shot epoch: its derived cell and numbers, state and checkpoint, at once."""
        now = time.time()
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute(
                "INSERT INTO trials (trial, choices, text, hash, status, params, macs, reward, "
                "metrics, cost, error, seconds, worker, proposed_at, finished_at) "
                "VALUES (?, ?, ?, ?, 'done', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    proposal.trial,
                    json.dumps(list(proposal.choices)),
                    proposal.text,
                    proposal.arch_hash,
                    params,
                    macs,
                    reward,
                    json.dumps(dict(evaluation.metrics), sort_keys=True),
                    evaluation.cost,
                    evaluation.error,
                    seconds,
                    worker,
                    now - seconds,
                    now,
                ),
            )
            self._save_state(proposal.trial + 1, proposal.trial + 1, state)
            self._conn.execute(
                "INSERT OR REPLACE INTO checkpoint (name, data) VALUES ('latest', ?)",
                (checkpoint,),
            )

    def add_failure(self, trial: int, error: str, worker: str) -> int:
        """Record that a worker was lost while running ``trial`` (it will run again); its count."""
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute(_FAILURES)  # journals written before it have none yet
            (attempt,) = self._conn.execute(
                "SELECT COUNT(*) FROM failures WHERE trial = ?", (trial,)
            ).fetchone()
            self._conn.execute(
                "INSERT INTO failures VALUES (?, ?, ?, ?, ?)",
                (trial, attempt, error, worker, time.time()),
            )
        return int(attempt) + 1

    def failures(self) -> list[tuple[int, int, str, str]]:
        """(trial, attempt, error, worker) of every lost worker, in order."""
        try:
            rows = self._conn.execute(
                "SELECT trial, attempt, error, worker FROM failures ORDER BY trial, attempt"
            ).fetchall()
        except sqlite3.OperationalError:  # a journal from before the table (read-only too)
            return []
        return [(int(t), int(a), str(e), str(w)) for t, a, e, w in rows]

    def failure_count(self, trial: int) -> int:
        """How many times a worker was lost running ``trial``."""
        return sum(1 for t, *_ in self.failures() if t == trial)

    def checkpoint(self) -> bytes | None:
        """The one-shot checkpoint of the latest epoch, or None."""
        row = self._conn.execute("SELECT data FROM checkpoint WHERE name = 'latest'").fetchone()
        return None if row is None else bytes(row[0])

    def states(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(asked, state) of every step, in order (a one-shot search's report reads them)."""
        for asked, blob in self._conn.execute("SELECT asked, state FROM states ORDER BY step"):
            yield int(asked), self._decode_state(blob)

    def told(self, asked: int, told: int, state: Mapping[str, Any]) -> None:
        """Record a tell: the new told count and the strategy state after it."""
        with self._conn:
            self._conn.execute("BEGIN")
            self._save_state(asked, told, state)

    def _save_state(self, asked: int, told: int, state: Mapping[str, Any]) -> None:
        try:
            text = json.dumps(self._store_blobs(state), sort_keys=True)
            blob = zlib.compress(text.encode("utf-8"))
            self._conn.execute(
                "INSERT INTO states (asked, told, state) VALUES (?, ?, ?)", (asked, told, blob)
            )
        except BaseException:
            self._stored.clear()  # the transaction rolls back: forget the blobs it would hold
            raise

    def _store_blobs(self, value: Any) -> Any:
        """``value`` with every ``bytes`` inside replaced by a reference to its stored blob."""
        if isinstance(value, bytes):
            known = self._stored.get(id(value))
            if known is not None and known[0] is value:  # the same object as at the last step
                return {_BLOB: known[1]}
            digest = hashlib.sha256(value).hexdigest()
            self._conn.execute(
                "INSERT OR IGNORE INTO blobs (digest, data) VALUES (?, ?)", (digest, value)
            )
            if len(self._stored) > 16:
                self._stored.clear()
            self._stored[id(value)] = (value, digest)  # holding it keeps its id unique
            return {_BLOB: digest}
        if isinstance(value, Mapping):
            return {k: self._store_blobs(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._store_blobs(v) for v in value]
        return value

    def _load_blobs(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {_BLOB}:
                row = self._conn.execute(
                    "SELECT data FROM blobs WHERE digest = ?", (value[_BLOB],)
                ).fetchone()
                if row is None:
                    raise NasgenError("E842", f"{self.path}: a strategy state names a missing blob")
                return bytes(row[0])
            return {k: self._load_blobs(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._load_blobs(v) for v in value]
        return value

    def _decode_state(self, blob: bytes) -> dict[str, Any]:
        state: dict[str, Any] = self._load_blobs(json.loads(zlib.decompress(blob)))
        return state

    def last_state(self) -> tuple[int, int, dict[str, Any]] | None:
        """(asked, told, state) of the last step, or None before the first."""
        row = self._conn.execute(
            "SELECT asked, told, state FROM states ORDER BY step DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return int(row[0]), int(row[1]), self._decode_state(row[2])

    def trials(self) -> Iterator[TrialRow]:
        """Every trial, in proposal order."""
        for r in self._conn.execute(
            "SELECT trial, choices, text, hash, status, same_as, params, macs, reward, metrics, "
            "cost, error, seconds, worker FROM trials ORDER BY trial"
        ):
            yield TrialRow(
                r[0], tuple(json.loads(r[1])), r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                json.loads(r[9]) if r[9] else {}, r[10], r[11], r[12], r[13],
            )  # fmt: skip

    def rows(self) -> list[tuple[Any, ...]]:
        """Every trial row as stored, for comparing two journals."""
        return list(self._conn.execute("SELECT * FROM trials ORDER BY trial"))

    def columns(self) -> list[str]:
        """The names of the ``trials`` columns, in ``rows`` order."""
        return [r[1] for r in self._conn.execute("PRAGMA table_info(trials)")]
