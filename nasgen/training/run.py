"""The run directory of a training: configuration, per-epoch metrics and resumable checkpoints.

Pipeline stage: training. Imports ``nasgen.files``, ``nasgen.errors`` and ``nasgen.api``.

Layout of ``RUN_DIR``::

    config.json                 what was trained and how (genotype text, options, data, recipe)
    metrics.jsonl               one line an epoch: losses, accuracies, lr, drop path, images/s
    state.json                  the last complete epoch and the files that hold it
    checkpoints/epoch-E.safetensors        the model (a nasgen checkpoint: genotype + weights)
    checkpoints/epoch-E.optim.safetensors  the optimizer's momentum buffers
    last.safetensors, best.safetensors     the last model and the best by valid accuracy

NOTE: [Resume is exact] An epoch's randomness (batch order, augmentation, drop path) is seeded
by (seed, epoch) alone, and the learning rate is a function of the epoch, so an epoch re-run
from the checkpoint before it computes what the interrupted one would have. ``state.json`` is
written (atomically) only after the epoch's files, and older files are removed only after it:
a kill at any moment leaves a complete earlier epoch to resume from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nasgen.errors import NasgenError
from nasgen.files import write_atomic

__all__ = ["RUN_KIND", "RunDir"]

RUN_KIND = "nasgen-train"


class RunDir:
    """Reads and writes one run directory."""

    def __init__(self, path: Path) -> None:
        """Wrap ``path`` (see ``create`` and ``open``)."""
        self.path = path
        self.checkpoints = path / "checkpoints"

    @staticmethod
    def check_new(path: Path) -> None:
        """Refuse a ``path`` that holds a run or anything else (nothing is overwritten)."""
        if (path / "config.json").exists():
            raise NasgenError(
                "E920",
                f"{path} already holds a training run",
                hint=f"continue it with `nasgen train --resume {path}`, or choose another -o",
            )
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise NasgenError(
                "E920", f"{path} is not an empty folder; a run writes only into a new one"
            )

    @classmethod
    def create(cls, path: Path, config: dict[str, Any]) -> RunDir:
        """A new run in ``path``, which must be new or empty.

        ``config.json`` is written first, so a run killed at any later moment is a run that
        ``--resume`` can continue (it rebuilds epoch 0 from the seed if that was not saved).
        """
        cls.check_new(path)
        run = cls(path)
        path.mkdir(parents=True, exist_ok=True)
        write_atomic(path / "config.json", json.dumps({"kind": RUN_KIND, **config}, indent=2))
        run.checkpoints.mkdir(exist_ok=True)
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run; a clear error for a folder that is not one."""
        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NasgenError("E921", f"{path}: no training run here (no config.json)") from None
        except (OSError, ValueError) as err:
            raise NasgenError("E921", f"{path}/config.json: not readable ({err})") from None
        if not isinstance(config, dict) or config.get("kind") != RUN_KIND:
            raise NasgenError("E921", f"{path}/config.json: not a nasgen training run")
        run = cls(path)
        run.checkpoints.mkdir(exist_ok=True)  # killed between config.json and this folder
        return run

    def config(self) -> dict[str, Any]:
        """The run's configuration."""
        data = self._read("config.json")
        if data is None:
            raise NasgenError("E921", f"{self.path}: no training run here (no config.json)")
        return data

    def state(self) -> dict[str, Any] | None:
        """The last complete epoch's state, or None before the first."""
        data = self._read("state.json")
        if data is not None and not (
            isinstance(data.get("epoch"), int) and isinstance(data.get("history"), list)
        ):
            raise NasgenError("E921", f"{self.path}/state.json: not a training state")
        return data

    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / name).read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise NasgenError("E921", f"{self.path / name}: not readable ({err})") from None
        if not isinstance(data, dict):
            raise NasgenError("E921", f"{self.path / name}: not a JSON object")
        return data

    def epoch_files(self, epoch: int) -> tuple[Path, Path]:
        """The model and optimizer files of an epoch (1-based: after epoch ``epoch``)."""
        stem = self.checkpoints / f"epoch-{epoch:04d}"
        return stem.with_suffix(".safetensors"), Path(f"{stem}.optim.safetensors")

    def commit(self, state: dict[str, Any]) -> None:
        """Make an epoch's files the run's state, then write the metrics and drop older files."""
        write_atomic(self.path / "state.json", json.dumps(state, indent=2, sort_keys=True))
        lines = [json.dumps(row, sort_keys=True) for row in state["history"]]
        write_atomic(self.path / "metrics.jsonl", "".join(f"{line}\n" for line in lines))
        keep = set(self.epoch_files(state["epoch"])) | set(self.epoch_files(state["best_epoch"]))
        for old in self.checkpoints.glob("epoch-*.safetensors"):
            if old not in keep:
                old.unlink(missing_ok=True)
