"""``train:DATA[,key=value...]``: short training as an evaluator (the reward is valid accuracy).

Pipeline stage: search (.cell text -> **metrics** by training). Imports ``nasgen.training``
(torch) and ``nasgen.api``.

The architecture is compiled for the data (input channels, size, classes) on the search's
skeleton, trained by its convention's recipe for ``epochs`` on a fixed part of the training
split and scored on the held-out rest (``valid_acc``, the default reward; ``train_acc``,
``train_loss``, ``valid_loss`` and ``params`` are reported beside it). The seconds of training
are the trial's cost, so ``--time-budget`` counts training time. The same (text, seed) gives
the same metrics on the same machine (PyTorch's CPU kernels are deterministic at a fixed
thread count). Keys: ``epochs`` (1), ``batch`` (64), ``valid`` (0.2, the held-out fraction),
``max_batches`` (none), ``lr`` (the recipe's).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from nasgen.api import CompileOptions
from nasgen.errors import NasgenError, did_you_mean
from nasgen.search.base import Evaluation

__all__ = ["TrainEvaluator", "parse_train_spec"]

_KEYS = {"epochs": int, "batch": int, "valid": float, "max_batches": int, "lr": float}
_SPLIT_SEED = 0  # every trial of a search trains and scores on the same split


def parse_train_spec(arg: str, valid: float = 0.2) -> tuple[str, dict[str, Any], set[str]]:
    """``DATA[,key=value...]`` as (data spec, every key's value, the keys given); E834 if bad."""
    data, *pairs = arg.split(",")
    values: dict[str, Any] = {
        "epochs": 1,
        "batch": 64,
        "valid": valid,
        "max_batches": None,
        "lr": None,
    }
    given = set()
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or key not in _KEYS:
            hint = did_you_mean(key, _KEYS) or f"keys: {', '.join(_KEYS)}"
            raise NasgenError("E834", f"train evaluator: {pair!r} is not KEY=VALUE", hint=hint)
        try:
            values[key] = _KEYS[key](text)
            given.add(key)
        except ValueError:
            raise NasgenError(
                "E834", f"train evaluator: {key}={text} is not a {_KEYS[key].__name__}"
            ) from None
    if values["epochs"] < 1 or values["batch"] < 1 or not 0 < values["valid"] < 1:
        raise NasgenError("E834", "train evaluator: epochs, batch >= 1 and 0 < valid < 1")
    if values["max_batches"] is not None and values["max_batches"] < 1:
        raise NasgenError("E834", "train evaluator: max_batches >= 1")
    return data, values, given


class TrainEvaluator:
    """Short training on the train part of a data set, scored on its held-out part."""

    def __init__(self, arg: str, options: CompileOptions | None = None) -> None:
        """``arg`` is ``DATA[,key=value...]``; the data set is read once, here."""
        from nasgen.training.data import load_data, split_data

        self.data_spec, self.values, _ = parse_train_spec(arg)
        self.name = f"train:{arg}"
        self.options = options or CompileOptions()
        data = load_data(self.data_spec)
        self.train_data, self.valid_data = split_data(data, self.values["valid"], _SPLIT_SEED)
        self.has_cost = True

    @property
    def metrics(self) -> Sequence[str]:
        """``valid_acc`` (the default reward) first."""
        return ("valid_acc", "valid_loss", "train_acc", "train_loss", "params")

    def evaluate(self, text: str, seed: int) -> Evaluation:
        """Train ``text`` briefly and score it; the cost is the seconds it took."""
        import torch

        from nasgen import api
        from nasgen.training.recipe import recipe_for
        from nasgen.training.session import data_settings
        from nasgen.training.trainer import evaluate, make_optimizer, train_epoch

        start = time.perf_counter()
        fixed = tuple(data_settings(self.train_data).items())
        base = self.options
        options = CompileOptions(
            base.n_cells, base.num_filters, base.variant, base.settings + fixed, base.origin
        )
        result = api.analyze(text, options)
        fast, _ = api.optimized(result, 1, "train")
        model = api.build(fast, seed)
        convention = result.arch.convention.name
        overrides: dict[str, Any] = {
            "epochs": self.values["epochs"],
            "batch_size": self.values["batch"],
        }
        if self.values["lr"] is not None:
            overrides["lr"] = self.values["lr"]
        recipe = recipe_for(convention).with_overrides(**overrides)
        optimizer = make_optimizer(model, recipe)
        device = torch.device("cpu")
        loss = acc = 0.0
        for epoch in range(recipe.epochs):
            loss, acc, _, _ = train_epoch(
                model, optimizer, self.train_data, recipe, epoch, seed, device=device,
                max_batches=self.values["max_batches"],
            )  # fmt: skip
        valid_loss, valid_acc = evaluate(model, self.valid_data, 2 * recipe.batch_size, device)
        metrics = {
            "valid_acc": valid_acc,
            "valid_loss": valid_loss,
            "train_acc": acc,
            "train_loss": loss,
            "params": float(result.cost.params),
        }
        return Evaluation(metrics, time.perf_counter() - start)
