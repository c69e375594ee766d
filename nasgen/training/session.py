"""Starting and resuming a training run: the genotype compiled for the data, the recipe, the run.

Pipeline stage: training. Imports torch, ``nasgen.api`` and the rest of ``nasgen.training``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from nasgen import api
from nasgen.errors import NasgenError
from nasgen.files import atomic_path
from nasgen.training.data import DataSet, load_data, split_data
from nasgen.training.recipe import Recipe, recipe_for
from nasgen.training.run import RunDir
from nasgen.training.trainer import (
    Fit,
    Speed,
    _save_optimizer,
    effective_augment,
    make_optimizer,
)

__all__ = ["data_settings", "resume_training", "start_training", "train"]


def data_settings(data: DataSet) -> dict[str, int]:
    """The network settings a data set fixes: input channels and size, classes."""
    return {"input_channels": data.channels, "input_size": data.size, "classes": data.classes}


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise NasgenError("E913", "--device cuda: no CUDA device is available here")
    if name not in ("cpu", "cuda"):
        raise NasgenError("E913", f"--device {name!r}: use cpu, cuda or auto")
    return torch.device(name)


def _model_for(source: str | Path, data: DataSet, seed: int, settings: Mapping[str, Any]) -> Any:
    path = Path(str(source))
    if _is_checkpoint(source):
        model = api.load(path)
        wanted = data_settings(data)
        have = {k: model.nasgen_options.get(k) for k in wanted}
        if have != wanted:
            raise NasgenError(
                "E912",
                f"{path} was built for {have}; the data set {data.name} needs {wanted}",
                hint="train the genotype itself (its .cell file) to compile it for the data",
            )
        return model
    options = api.options_for(**{**dict(settings), **data_settings(data)})
    return _build(api.analyze(source, options), seed)


def _build(result: api.Analysis, seed: int) -> Any:
    """The training form at -O1 (same parameters and names as -O0, fewer ops to run)."""
    fast, _ = api.optimized(result, 1, "train")
    return api.build(fast, seed)


def start_training(
    source: str | Path,
    data_spec: str,
    out: Path,
    *,
    seed: int = 0,
    recipe: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    device: str = "cpu",
    max_batches: int | None = None,
    amp: bool | None = None,
    channels_last: bool | None = None,
) -> Fit:
    """A new run in ``out``: the genotype compiled for the data, its recipe, epoch 0 saved.

    ``amp`` (bfloat16 autocast) and ``channels_last`` default to on for CUDA, off on the CPU.
    """
    seed = api.check_seed(seed) or 0
    RunDir.check_new(out)  # before any data is read or any network built
    data = load_data(data_spec)
    model = _model_for(source, data, seed, settings or {})
    chosen = _recipe(model, recipe or {})
    config = {
        "from_checkpoint": str(source) if _is_checkpoint(source) else None,
        "source": model.nasgen_source,
        "options": model.nasgen_options,
        "data": data_spec,
        "data_source": data.source,
        "synthetic_data": data.synthetic,
        "recipe": chosen.to_json(),
        "augment": asdict(effective_augment(chosen, data)),
        "seed": seed,
        "device": device,
        "max_batches": max_batches,
        "amp": amp,
        "channels_last": channels_last,
    }
    run = RunDir.create(out, config)
    job = _job(run, model, chosen, seed, data, config)
    _commit_start(job)
    return job


def _commit_start(job: Fit) -> None:
    """Epoch 0: the initial weights, so that a resume always starts from a committed state."""
    model_path, optim_path = job.run.epoch_files(0)
    api.save(job.model.to("cpu"), model_path)
    _save_optimizer(job.optimizer, job.model, optim_path)
    job.model.to(job.device)
    job.run.commit({"epoch": 0, "best_acc": None, "best_epoch": 0, "history": []})


def _is_checkpoint(source: str | Path) -> bool:
    path = Path(str(source))
    return path.suffix.lower() == ".safetensors" and path.is_file()


def _recipe(model: Any, overrides: Mapping[str, Any]) -> Recipe:
    convention = _convention(model.nasgen_source)
    base = recipe_for(convention)
    values = {k: v for k, v in overrides.items() if v is not None}
    return base.with_overrides(**values) if values else base


def _convention(text: str) -> str:
    from nasgen.dsl import parse_text

    module = parse_text(text)
    return module.convention.preset if module.convention else "darts"


def _job(
    run: RunDir, model: Any, recipe: Recipe, seed: int, data: DataSet, config: Mapping[str, Any]
) -> Fit:
    if recipe.drop_path is not None:
        model.drop_path_prob = recipe.drop_path
    if recipe.aux_weight is not None:
        model.aux_weight = recipe.aux_weight
    train_data, valid_data = data, None
    if recipe.valid_fraction > 0:
        train_data, valid_data = split_data(data, recipe.valid_fraction, seed)
    else:
        valid_data = load_data(run.config()["data"], split="test")
    where = _device(config["device"])
    speed = Speed.for_device(where, config.get("amp"), config.get("channels_last"))
    model.to(where)
    if speed.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, recipe)
    return Fit(
        run, model, optimizer, recipe, seed, train_data, valid_data, where, [], None, 0,
        config["max_batches"], speed,
    )  # fmt: skip


def _as_trained(loaded: Any, config: Mapping[str, Any]) -> Any:
    """The loaded weights in the form training runs.

    -O1: the same names, the same ops in the same order, so the drop-path masks of a resumed
    epoch are drawn as they were.
    """
    if config.get("from_checkpoint"):
        return loaded
    options = api.options_for(**config["options"])
    model = _build(api.analyze(config["source"], options), int(config["seed"]))
    model.load_state_dict(loaded.state_dict(), strict=True)
    return model


_CONFIG_KEYS = ("recipe", "source", "options", "data", "seed", "device", "max_batches")


def resume_training(path: Path) -> Fit:
    """The run in ``path`` at its last complete epoch, ready to go on."""
    run = RunDir.open(path)
    config = run.config()
    state = run.state()
    missing = [k for k in _CONFIG_KEYS if k not in config]
    try:
        if missing:
            raise KeyError(", ".join(missing))
        recipe = Recipe(**config["recipe"])
        recipe.check()
    except (KeyError, TypeError) as err:
        raise NasgenError(
            "E921", f"{path}/config.json: not a nasgen training run ({err})"
        ) from None
    if state is None:  # killed while starting: the initial weights follow from the seed
        if config.get("from_checkpoint"):
            raise NasgenError("E921", f"{path}: killed before its start was saved; start it again")
        options = api.options_for(**config["options"])
        model = _build(api.analyze(config["source"], options), int(config["seed"]))
        data = load_data(config["data"])
        job = _job(run, model, recipe, int(config["seed"]), data, config)
        _commit_start(job)
        return job
    model_path, _ = run.epoch_files(state["epoch"])
    model = _as_trained(api.load(model_path), config)
    data = load_data(config["data"])
    job = _job(run, model, recipe, int(config["seed"]), data, config)
    job.resume_from(state)
    for name, epoch in (("last", state["epoch"]), ("best", state["best_epoch"])):
        if epoch:
            with atomic_path(path / f"{name}.safetensors") as tmp:
                tmp.write_bytes(run.epoch_files(epoch)[0].read_bytes())
    return job


def train(
    source: str | Path,
    out: str | Path,
    *,
    data: str = "digits",
    seed: int = 0,
    recipe: Mapping[str, Any] | None = None,
    device: str = "cpu",
    max_batches: int | None = None,
    **settings: Any,
) -> list[dict[str, Any]]:
    """Train a genotype (``nasgen.train``): a new run in ``out``, or its resume if it exists.

    Args:
        source: a .cell path, a bundled name, .cell text or a nasgen checkpoint.
        out: the run directory (new or empty; an existing run is resumed).
        data: ``digits`` (embedded), ``cifar10:DIR``, ``cifar100:DIR``, ``folder:DIR[:SIZE]``.
        seed: the seed of the weights, the batch order, augmentation and drop path.
        recipe: overrides of the convention's recipe (``{"epochs": 10, "lr": 0.05}``).
        device: ``cpu``, ``cuda`` or ``auto``.
        max_batches: stop each epoch after this many batches.
        **settings: network overrides (``N=2``, ``F=16``, ``variant="search"``).

    Returns:
        One dict an epoch: losses, accuracies, lr, drop path, images/s.

    """
    from nasgen.training.trainer import fit

    path = Path(out)
    if (path / "config.json").exists():
        return fit(resume_training(path))
    job = start_training(
        source, data, path, seed=seed, recipe=recipe, settings=settings, device=device,
        max_batches=max_batches,
    )  # fmt: skip
    return fit(job)
