"""Executors: where evaluations run. In this process (the default), a local process pool, or Ray.

Pipeline stage: search. Imports ``concurrent.futures`` and ``nasgen.search``; the evaluator
is built inside each worker from its spec, so nothing unpicklable crosses a process boundary.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from nasgen.api import CompileOptions
from nasgen.errors import NasgenError
from nasgen.search.base import Evaluation, Evaluator, Executor
from nasgen.search.evaluators import make_evaluator

__all__ = [
    "ExecutorOptions",
    "InlineExecutor",
    "ProcessExecutor",
    "evaluate_safely",
    "make_executor",
    "raised",
]


@dataclass(frozen=True, slots=True)
class ExecutorOptions:
    """Where trials run: ``local`` (this process or a process pool) or ``ray``.

    They change where and how fast, never what: a search's results are the same with any,
    so they are not part of its configuration and may change on ``--resume``.
    """

    kind: str = "local"
    address: str | None = None  # ray: None starts a local cluster; auto or HOST:PORT joins one
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_inflight: int | None = None  # ray: trials submitted at once (default: --workers)
    retries: int = 2  # ray: a trial whose worker is lost runs again this many times


Finished = tuple[int, Evaluation, float, str]


def evaluate_safely(evaluator: Evaluator, text: str, seed: int) -> tuple[Evaluation, float]:
    """Evaluate; any exception becomes a failed evaluation with its message, timed."""
    start = time.perf_counter()
    try:
        result = evaluator.evaluate(text, seed)
    except NasgenError as err:
        result = Evaluation(error=str(err))
    except Exception as err:  # an evaluator's bug fails its trial, not the search
        result = Evaluation(error=raised(err))
    return result, time.perf_counter() - start


def raised(err: BaseException) -> str:
    """A failed trial's error text for an evaluator that raised (the same on every executor)."""
    return f"evaluator raised {type(err).__name__}: {err}"


class InlineExecutor:
    """Evaluates each trial in this process as it is submitted."""

    def __init__(self, evaluator: Evaluator) -> None:
        """Run ``evaluator`` here."""
        self.evaluator = evaluator
        self._done: list[Finished] = []
        self._worker = f"inline:{os.getpid()}"

    def submit(self, trial: int, text: str, seed: int) -> None:
        """Evaluate now; the result waits for ``poll``."""
        result, seconds = evaluate_safely(self.evaluator, text, seed)
        self._done.append((trial, result, seconds, self._worker))

    def poll(self, timeout: float | None = None) -> list[Finished]:
        """Everything evaluated since the last poll."""
        done, self._done = self._done, []
        return done

    def pending(self) -> int:
        """Trials submitted and not yet polled."""
        return len(self._done)

    def close(self) -> None:
        """Nothing to stop."""


_WORKER: dict[str, Evaluator] = {}


def _init_worker(spec: str, options: CompileOptions | None) -> None:
    _WORKER["evaluator"] = make_evaluator(spec, options)


def _run(trial: int, text: str, seed: int) -> Finished:
    result, seconds = evaluate_safely(_WORKER["evaluator"], text, seed)
    return trial, result, seconds, f"process:{os.getpid()}"


class ProcessExecutor:
    """A pool of local worker processes (``--workers N``), each with its own evaluator."""

    def __init__(self, spec: str, options: CompileOptions | None, workers: int) -> None:
        """Start ``workers`` processes (spawned: no forked torch or SQLite state)."""
        context = multiprocessing.get_context("spawn")
        self._pool = cf.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(spec, options)
        )
        self._futures: dict[cf.Future[Finished], int] = {}

    def submit(self, trial: int, text: str, seed: int) -> None:
        """Queue the evaluation of ``text``."""
        self._futures[self._pool.submit(_run, trial, text, seed)] = trial

    def poll(self, timeout: float | None = None) -> list[Finished]:
        """Trials that finished, waiting up to ``timeout`` for the first."""
        if not self._futures:
            return []
        done, _ = cf.wait(self._futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out = []
        for future in done:
            trial = self._futures.pop(future)
            try:
                out.append(future.result())
            except Exception as err:  # a worker died: the trial failed, the search goes on
                out.append((trial, Evaluation(error=f"worker failed: {err!r}"), 0.0, "process:?"))
        return out

    def pending(self) -> int:
        """Trials submitted and not yet handed back."""
        return len(self._futures)

    def close(self) -> None:
        """Stop the workers (cancelling queued trials)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_executor(
    spec: str,
    options: CompileOptions | None,
    workers: int,
    factory: Callable[[], Evaluator],
    settings: ExecutorOptions | None = None,
    on_loss: Callable[[int, str, str], int] | None = None,
    losses: Callable[[int], int] | None = None,
) -> Executor:
    """Inline for one worker, else a process pool; Ray tasks with ``settings.kind == "ray"``.

    ``on_loss`` records a lost Ray worker (the journal's ``add_failure``); ``losses`` says how
    many a trial had before (``failure_count``), so a resumed search keeps the bound.
    """
    if settings is not None and settings.kind == "ray":
        from nasgen.search.ray_executor import RayExecutor

        if settings.max_inflight is not None and settings.max_inflight > workers:
            raise NasgenError(
                "E853",
                f"--max-inflight {settings.max_inflight} is above --workers {workers}: the "
                f"search never has more than {workers} trials out",
                hint="raise --workers (trials proposed ahead) instead",
            )
        inflight = settings.max_inflight or workers
        return RayExecutor(spec, options, settings, inflight, on_loss, losses)
    if workers <= 1:
        return InlineExecutor(factory())
    return ProcessExecutor(spec, options, workers)
