"""Diagrams: what a rendered cell shows (edges into the output), determinism, safe writing."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("graphviz")

from nasgen.api import analyze
from nasgen.review.draw import DrawError, cell_graph, network_graph, render

# CI installs Graphviz (.ci/run), so there a missing `dot` fails instead of skipping.
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"), reason="Graphviz `dot` not installed"
)


def _edges(svg: str) -> list[tuple[str, str]]:
    titles = re.findall(r'<g id="edge\d+" class="edge">\s*<title>(.*?)</title>', svg)
    return [tuple(t.replace("&#45;&gt;", "->").split("->")) for t in titles]  # type: ignore[misc]


def _svg(tmp_path: Path, cell: str, source: str = "nasnet_a") -> str:
    path = render(cell_graph(analyze(source).arch, cell), tmp_path / f"{cell}.svg")
    return path.read_text(encoding="utf-8")


@needs_dot
def test_nasnet_normal_cell_concatenates_six_states_including_h_prev(tmp_path: Path) -> None:
    svg = _svg(tmp_path, "normal")
    into_output = [src for src, dst in _edges(svg) if dst == "output"]
    assert into_output == ["s_h_prev", "s_b1", "s_b2", "s_b3", "s_b4", "s_b5"]
    assert svg.count(">sep_conv_5x5</text>") == 2 and svg.count(">+</text>") == 5
    assert "cell output" in svg and "i&#45;1" in svg  # the h_{i-1} caption


@needs_dot
def test_nasnet_reduction_cell_concatenates_four_states(tmp_path: Path) -> None:
    svg = _svg(tmp_path, "reduction")
    assert [src for src, dst in _edges(svg) if dst == "output"] == ["s_b2", "s_b3", "s_b4", "s_b5"]
    assert ("s_b2", "o_b4_0") in _edges(svg)  # b4 = add(skip_connect(b2), ...)


@needs_dot
def test_single_output_and_single_op_blocks(tmp_path: Path) -> None:
    text = (
        "nasgen 1 convention darts\n"
        "cell normal(p, h) { b1 = sep_conv_3x3(h)  b2 = concat(skip_connect(p), max_pool_3x3(b1))"
        "  output b2 }\nnetwork { N = 1 F = 8 input_size = 32 reductions = 0 }\n"
    )
    svg = render(cell_graph(analyze(text).arch, "normal"), tmp_path / "c.svg").read_text()
    assert [e for e in _edges(svg) if e[1] == "output"] == [("s_b2", "output")]
    assert ("s_h", "s_b1") in _edges(svg)  # the op box is the block
    assert ("s_b1", "o_b2_1") in _edges(svg) and "= b1" in svg and ">concat</text>" in svg


@needs_dot
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_output_is_deterministic(tmp_path: Path, suffix: str) -> None:
    arch = analyze("darts_v2").arch
    first = render(cell_graph(arch, "normal"), tmp_path / f"a{suffix}").read_bytes()
    second = render(cell_graph(arch, "normal"), tmp_path / f"b{suffix}").read_bytes()
    assert first == second and len(first) > 1000


@needs_dot
def test_network_graph_lists_stages_and_totals(tmp_path: Path) -> None:
    svg = render(network_graph(analyze("nasnet_a")), tmp_path / "net.svg").read_text()
    for text in (
        "stage1: 4 \u00d7 normal",
        "reduce2: 1 \u00d7 reduction",
        "auxiliary head: tf_slim",
    ):
        assert text in svg
    assert "total: 5,289,978 params" in svg and "1056x7x7" in svg


@needs_dot
def test_render_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "cell.svg"
    path.write_text("mine")
    graph = cell_graph(analyze("nasnet_a").arch, "normal")
    with pytest.raises(DrawError) as err:
        render(graph, path)
    assert err.value.code == "E703" and path.read_text() == "mine"
    render(graph, path, force=True)
    assert path.read_text().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell.svg"]  # no temporary left


def test_unknown_suffix_and_cell_are_user_errors(tmp_path: Path) -> None:
    arch = analyze("nasnet_a").arch
    with pytest.raises(DrawError) as err:
        render(cell_graph(arch, "normal"), tmp_path / "cell.jpeg")
    assert err.value.code == "E702" and ".svg" in str(err.value)
    with pytest.raises(DrawError) as err:
        cell_graph(arch, "norml")
    assert err.value.code == "E706" and "did you mean 'normal'" in str(err.value)


def test_missing_dot_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DrawError) as err:
        render(cell_graph(analyze("nasnet_a").arch, "normal"), tmp_path / "cell.svg")
    assert err.value.code == "E701" and "apt-get install graphviz" in str(err.value)
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_missing_directory_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(DrawError) as err:
        render(cell_graph(analyze("nasnet_a").arch, "normal"), tmp_path / "no" / "cell.svg")
    assert err.value.code == "E704"
