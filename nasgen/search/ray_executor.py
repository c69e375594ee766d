"""Trials on Ray: ``--executor ray``, a local or remote Ray cluster behind the executor seam.

Pipeline stage: search. Imports ``ray`` (the ``ray`` extra) only when a Ray executor is made,
``nasgen.search`` and ``nasgen.errors``.

NOTE: [What crosses to a worker] A trial goes out as its .cell text, the evaluator's spec, the
compile options and the evaluation seed; it comes back as plain numbers (metrics, cost, error,
seconds, worker). No model, strategy or journal is ever pickled. A worker builds its
evaluator from the spec once (per spec) and keeps it, so it imports only what that evaluator
needs (a table never imports torch).

NOTE: [Faults] The journal on the driver stays the one source of truth:
- a worker process killed, or its node lost, while running a trial (Ray says
  ``WorkerCrashedError``, ``NodeDiedError``, a lost object...): the loss is recorded in the
  journal's ``failures`` table and the trial is submitted again, up to ``retries`` times,
  then it fails with the last loss as its error; Ray's own task retries are off, so every
  retry is one nasgen saw and recorded, and the trial's result is written once;
- the evaluator raising: the trial fails with the error text, the search goes on (as with
  local workers: a ``NasgenError`` is an ordinary failed evaluation);
- the driver killed: ``nasgen search --resume DIR --executor ray`` submits exactly the trials
  the journal holds as running (the loop's rule).
Back-pressure: at most ``max_inflight`` trials are submitted to Ray at once; the rest wait on
the driver, in order.
"""

from __future__ import annotations

import collections
import contextlib
import os
import socket
import sys
from typing import Any

from nasgen.api import CompileOptions
from nasgen.errors import NasgenError
from nasgen.search.base import Evaluation, Evaluator
from nasgen.search.executors import ExecutorOptions, evaluate_safely, raised

__all__ = ["RayExecutor", "import_ray"]

OnLoss = Any  # Callable[[int, str, str], int]: (trial, error, worker) -> losses so far


def import_ray() -> Any:
    """The ``ray`` module, or a user error naming the extra."""
    try:
        import ray
    except ImportError:
        raise NasgenError(
            "E875", "--executor ray needs Ray", hint='pip install "nasgen[ray]"'
        ) from None
    return ray


_EVALUATORS: dict[tuple[str, str], Evaluator] = {}


def _evaluate(spec: str, variant: str | None, threads: int, text: str, seed: int) -> dict[str, Any]:
    """Run one trial in a Ray worker; plain data back."""
    from nasgen.search.evaluators import make_evaluator

    worker = f"ray:{socket.gethostname()}:{os.getpid()}"
    key = (spec, variant or "")
    try:
        evaluator = _EVALUATORS.get(key)
        if evaluator is None:
            evaluator = _EVALUATORS[key] = make_evaluator(spec, CompileOptions(variant=variant))
        torch = sys.modules.get("torch")  # a training evaluator: the CPUs the trial reserved
        if torch is not None:
            torch.set_num_threads(threads)
        result, seconds = evaluate_safely(evaluator, text, seed)
    except Exception as err:
        error = raised(err)
        return {"metrics": {}, "cost": 0.0, "error": error, "seconds": 0.0, "worker": worker}
    return {
        "metrics": dict(result.metrics), "cost": result.cost, "error": result.error,
        "seconds": seconds, "worker": worker,
    }  # fmt: skip


def _check_resources(ray: Any, settings: ExecutorOptions) -> None:
    """E876 for a trial no node of the cluster could ever hold (it would wait forever)."""
    total = ray.cluster_resources()
    for key, asked in (("CPU", settings.cpus_per_trial), ("GPU", settings.gpus_per_trial)):
        have = float(total.get(key, 0.0))
        if asked > have:
            raise NasgenError(
                "E876",
                f"a trial asks for {asked:g} {key}s but the Ray cluster has {have:g}",
                hint=f"lower --{key.lower()}s-per-trial, or join a cluster with more",
            )


class RayExecutor:
    """Evaluations as Ray tasks, at most ``max_inflight`` at once, lost workers retried."""

    def __init__(
        self,
        spec: str,
        options: CompileOptions | None,
        settings: ExecutorOptions,
        max_inflight: int,
        on_loss: OnLoss | None = None,
        losses: Any = None,
    ) -> None:
        """Join (or start) a Ray cluster; ``on_loss`` records a lost worker in the journal."""
        ray = import_ray()
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(
                    address=settings.address, include_dashboard=False, log_to_driver=False,
                    configure_logging=False,
                )  # fmt: skip
            except (ConnectionError, RuntimeError, ValueError) as err:
                where = settings.address or "a local cluster"
                raise NasgenError(
                    "E876", f"--executor ray: cannot reach {where}: {err}",
                    hint="start one with `ray start --head`, or leave out --address",
                ) from None  # fmt: skip
        _check_resources(ray, settings)
        self._task = ray.remote(_evaluate).options(
            num_cpus=settings.cpus_per_trial, num_gpus=settings.gpus_per_trial, max_retries=0
        )
        self._spec = spec
        self._variant = options.variant if options is not None else None
        self._limit = max(1, max_inflight)
        self._threads = max(1, int(settings.cpus_per_trial))
        self._retries = settings.retries
        self._on_loss = on_loss
        self._losses_before = losses  # Callable[[int], int]: losses the journal holds
        self._done: list[tuple[int, Evaluation, float, str]] = []
        self._losses: dict[int, int] = {}  # trial -> workers lost running it (this process)
        self._waiting: collections.deque[tuple[int, str, int]] = collections.deque()
        self._running: dict[Any, tuple[int, str, int]] = {}

    def submit(self, trial: int, text: str, seed: int) -> None:
        """Queue ``trial``; it goes to Ray when fewer than ``max_inflight`` are running.

        A trial resumed after its workers were lost more than ``retries`` times fails now.
        """
        before = self._losses_before(trial) if self._losses_before is not None else 0
        if before > self._retries:
            error = f"worker lost {before} times before this resume (--retries {self._retries})"
            self._done.append((trial, Evaluation(error=error), 0.0, "ray:?"))
            return
        self._waiting.append((trial, text, seed))
        self._fill()

    def _fill(self) -> None:
        while self._waiting and len(self._running) < self._limit:
            job = self._waiting.popleft()
            _, text, seed = job
            ref = self._task.remote(self._spec, self._variant, self._threads, text, seed)
            self._running[ref] = job

    def poll(self, timeout: float | None = None) -> list[tuple[int, Evaluation, float, str]]:
        """Trials that finished, waiting up to ``timeout`` for the first."""
        out, self._done = self._done, []
        if not self._running:
            return out
        ray = self._ray
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if ready:
            more, _ = ray.wait(list(self._running), num_returns=len(self._running), timeout=0)
            ready = list(dict.fromkeys([*ready, *more]))
        for ref in ready:
            job = self._running.pop(ref)
            finished = self._collect(ref, job)
            if finished is not None:
                out.append(finished)
        self._fill()
        return out

    def _collect(
        self, ref: Any, job: tuple[int, str, int]
    ) -> tuple[int, Evaluation, float, str] | None:
        ray = self._ray
        trial = job[0]
        try:
            got = ray.get(ref)
        except ray.exceptions.RayTaskError as err:  # raised outside the evaluator: failed
            return trial, Evaluation(error=f"the Ray task raised: {err}"), 0.0, "ray:?"
        except ray.exceptions.RayError as err:  # a worker or node lost: again, recorded
            message = f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
            self._losses[trial] = self._losses.get(trial, 0) + 1
            losses = self._losses[trial]
            if self._on_loss is not None:  # the journal counts losses across restarts too
                losses = self._on_loss(trial, message, "ray:?")
            if losses <= self._retries:
                self._waiting.appendleft(job)
                return None
            error = f"worker lost {losses} times (last: {message})"
            return trial, Evaluation(error=error), 0.0, "ray:?"
        result = Evaluation(got["metrics"], got["cost"], got["error"])
        return trial, result, float(got["seconds"]), str(got["worker"])

    def pending(self) -> int:
        """Trials submitted and not yet handed back (waiting on the driver or running)."""
        return len(self._waiting) + len(self._running) + len(self._done)

    def close(self) -> None:
        """Cancel what still runs; a cluster this process started stops when it exits.

        (Not here: ``search compare`` runs many searches on one cluster.)
        """
        for ref in list(self._running):
            with contextlib.suppress(Exception):  # best effort: the task may have finished
                self._ray.cancel(ref, force=True)
        self._running.clear()
        self._waiting.clear()
