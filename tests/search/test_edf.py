"""EDFs of design spaces: regimes, the KS statistic, sampling that matches a random search,
and `nasgen space edf` end to end (its run directory refuses what is not its own)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from search_helpers import synthetic_table

from nasgen.cli import main
from nasgen.errors import NasgenError
from nasgen.search.config import SearchConfig
from nasgen.search.edf import edf, ks_test, parse_regime, sample_space
from nasgen.search.evaluators.table import TableEvaluator
from nasgen.search.executors import InlineExecutor
from nasgen.search.journal import Journal
from nasgen.search.loop import Search
from nasgen.search.strategies import make_strategy
from nasgen.space import load_space, load_space_source


def test_regimes_are_mac_ranges() -> None:
    r = parse_regime("400MF")
    assert (r.low, r.high) == (360_000_000, 400_000_000)  # the paper's 360-400M
    assert (parse_regime("360M-400M").low, parse_regime("1.6GF").high) == (360e6, 1.6e9)
    assert parse_regime("-2G").low is None and parse_regime("-2G").high == 2e9
    assert parse_regime("none").constraints().max_macs is None
    for bad in ("400XF", "400M-300M", "fast"):
        with pytest.raises(NasgenError) as err:
            parse_regime(bad)
        assert err.value.code == "E871"


def test_ks_statistic_by_hand() -> None:
    assert ks_test([1, 2, 3], [2, 3, 4])[0] == pytest.approx(1 / 3)
    assert ks_test([1, 2, 3], [1, 2, 3]) == (0.0, 1.0)
    d, p = ks_test(list(range(100)), list(range(100, 200)))
    assert d == 1.0 and p < 1e-30
    rng = random.Random(0)
    same = [ks_test([rng.random() for _ in range(200)], [rng.random() for _ in range(200)])[1]
            for _ in range(40)]  # fmt: skip
    assert sum(p < 0.05 for p in same) <= 6  # p is roughly uniform under the null
    xs, ys = edf([3, 1, 2, 2])
    assert xs == [1, 2, 2, 3] and ys == [0.25, 0.5, 0.75, 1.0]


def test_samples_are_the_models_a_random_search_evaluates(tmp_path: Path) -> None:
    """Same seed, same bounds: the EDF's models are the search's evaluated trials, in order."""
    table = TableEvaluator(str(synthetic_table(tmp_path / "t.csv")))
    regime = parse_regime("20M-40M")
    space = load_space("nb201")
    sample = sample_space(space, 12, regime, seed=3)
    text = load_space_source("nb201").text
    config = SearchConfig(
        text, "nb201", "random", "table:x", "valid", 3, 12, constraints=regime.constraints()
    )
    journal = Journal.create(tmp_path / "run", config.to_json())
    strategy = make_strategy("random", space.decisions(), 3, {})
    search = Search(journal, config, space, strategy, InlineExecutor(table))
    search.run()
    done = [r for r in search.rows if r.status == "done"]
    assert [r.arch_hash for r in done] == [m.arch_hash for m in sample.models]
    assert [r.trial for r in done] == [m.draw for m in sample.models]
    assert all(20e6 <= m.macs <= 40e6 for m in sample.models)
    assert sample.drawn == len(search.rows) and sample.outside > 0


def test_sampling_gives_up_on_an_empty_regime() -> None:
    with pytest.raises(NasgenError) as err:  # the simple stem alone has 10.8M MACs
        sample_space(load_space("anynetx_e"), 3, parse_regime("1M-2M"), seed=0)
    assert err.value.code == "E872" and "0 of 3" in err.value.message


def _edf(tmp: Path, *extra: str) -> tuple[int, str]:
    args = ["space", "edf", "anynetx_c", "anynetx_e", "-n", "15", "--regime", "300M-500M"]
    out = CliRunner().invoke(main, [*args, *extra, "-q", "-o", str(tmp)])
    return out.exit_code, out.output


def test_space_edf_writes_complexity_edfs_and_refuses_foreign_directories(tmp_path: Path) -> None:
    run = tmp_path / "edf"
    code, out = _edf(run, "--no-plot")
    assert code == 0, out
    assert "KS statistic" in out and "anynetx_c vs anynetx_e" in out
    data = json.loads((run / "complexity.json").read_text())
    spaces = {s["name"]: s for s in data["spaces"]}
    assert set(spaces) == {"anynetx_c", "anynetx_e"}
    for s in spaces.values():
        assert len(s["samples"]) == 15 and s["drawn"] >= 15
        assert all(300e6 <= x["macs"] <= 500e6 and x["acts"] > 0 for x in s["samples"])
        assert len({x["hash"] for x in s["samples"]}) == 15
    assert set(data["ks"]) == {"params", "macs", "acts"}
    again = (run / "complexity.json").read_bytes()
    code, out = _edf(run, "--no-plot")  # the same comparison again: the same bytes
    assert code == 0, out
    assert (run / "complexity.json").read_bytes() == again
    code, out = _edf(run, "--no-plot", "--seed", "1")  # another comparison in this folder
    assert code == 1 and "E874" in out and "Traceback" not in out
    stranger = tmp_path / "mine"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("keep")
    code, out = _edf(stranger, "--no-plot")
    assert code == 1 and "E874" in out
    assert (stranger / "notes.txt").read_text() == "keep"


def test_space_edf_refuses_bad_input(tmp_path: Path) -> None:
    code, out = _edf(tmp_path / "a", "--regime", "400XF", "--no-plot")
    assert code == 1 and "E871" in out
    out = CliRunner().invoke(
        main, ["space", "edf", "anynetx_c", "anynetx_c", "-o", str(tmp_path / "b")]
    )
    assert out.exit_code == 1 and "E874" in out.output
    assert not (tmp_path / "a").exists()
    out = CliRunner().invoke(  # sampling fails: the folder is never made
        main, ["space", "edf", "anynetx_e", "-n", "2", "--regime", "1M-2M", "--no-plot",
               "-o", str(tmp_path / "c")],
    )  # fmt: skip
    assert out.exit_code == 1 and "E872" in out.output and not (tmp_path / "c").exists()


def test_space_edf_plots_the_edfs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    code, out = _edf(tmp_path / "edf")
    assert code == 0, out
    png = (tmp_path / "edf" / "complexity.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_error_edfs_evaluate_the_samples_through_the_search_loop(tmp_path: Path) -> None:
    run = tmp_path / "edf"
    args = ["space", "edf", "anynetx_e", "regnetx", "-n", "3", "--regime", "-1G", "--no-plot",
            "--evaluator", "train:digits,epochs=1,max_batches=1", "-q", "-o", str(run)]  # fmt: skip
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    data = json.loads((run / "complexity.json").read_text())
    assert data["error"]["measure"] == "error (1 - valid_acc)"
    for s in data["spaces"]:
        rows = list(Journal.open(run / s["name"]).trials())
        done = [r for r in rows if r.status == "done"]
        assert [r.arch_hash for r in done] == [x["hash"] for x in s["samples"]]
        errors = data["error"]["spaces"][s["name"]]
        assert sorted(1 - (r.reward or 0) for r in done) == pytest.approx(errors)
    again = CliRunner().invoke(main, args)  # resumed: nothing evaluated twice
    assert again.exit_code == 0, again.output
    assert len([r for r in Journal.open(run / "regnetx").trials() if r.status == "done"]) == 3
