"""Targeted lowering rules (TF-slim, DARTS and ENAS code; nasgen/ir/lower_cell.py) on small
hand-written files."""

from __future__ import annotations

from nasgen.api import analyze

_NET = "network { N = 1  F = 8  stem_multiplier = 3  classes = 10  input_size = 32 }"


def _cells(convention: str, normal_body: str) -> str:
    return (
        f"nasgen 1\nconvention {convention}\n"
        f"cell normal(h_prev, h) {{\n{normal_body}\n}}\n"
        "cell reduction(h_prev, h) {\n  b1 = add(max_pool_3x3(h_prev), max_pool_3x3(h))\n}\n" + _NET
    )


def test_unread_h_prev_is_legal_and_its_projection_counts_under_darts() -> None:
    # DARTS builds preprocess0 whether or not the genotype reads s0, and counts it.
    reads = analyze(_cells("darts", "  b1 = add(skip_connect(h_prev), skip_connect(h))"))
    ignores = analyze(_cells("darts", "  b1 = add(skip_connect(h), skip_connect(h))"))
    assert reads.cost.params == ignores.cost.params
    kept = [n.id for n in ignores.graph.nodes() if n.id.endswith(".h_prev")]
    assert "cells.0.h_prev" in kept


def test_first_cell_sees_the_raw_stem_in_tf_and_a_projection_in_darts() -> None:
    body = "  b1 = add(skip_connect(h_prev), skip_connect(h))\n  output concat(b1)"
    tf = analyze(_cells("tf_slim", body)).graph
    darts = analyze(_cells("darts", body)).graph
    # TF: h_prev is the raw 24-channel stem, so skip_connect itself must project it (1x1 conv).
    assert tf.node("cells.0.b1.left").op == "conv_bn"
    assert "cells.0.h_prev" not in tf
    # DARTS: s0 = s1 = stem(x), then preprocess0 = ReLUConvBN; skip_connect stays identity.
    assert darts.node("cells.0.h_prev").op == "conv_bn"
    assert darts.node("cells.0.b1.left").op == "identity"


def test_tf_output_adapts_a_larger_concatenated_state_in_a_reduction_cell() -> None:
    text = _cells("tf_slim", "  b1 = add(skip_connect(h_prev), skip_connect(h))").replace(
        "  b1 = add(max_pool_3x3(h_prev), max_pool_3x3(h))\n}",
        "  b1 = add(max_pool_3x3(h_prev), max_pool_3x3(h))\n  output concat(h, b1)\n}",
    )
    graph = analyze(text).graph
    reduction = "cells.1"
    adapt = graph.node(f"{reduction}.out.h")
    assert adapt.op == "factorized_reduce" and adapt.attrs.get_int("stride") == 2
    assert graph.node(f"{reduction}.out").shape[1:] == graph.node(f"{reduction}.b1").shape[1:]


def test_ops_stride_only_when_reading_a_cell_input() -> None:
    text = _cells("darts", "  b1 = add(skip_connect(h_prev), skip_connect(h))").replace(
        "  b1 = add(max_pool_3x3(h_prev), max_pool_3x3(h))\n}",
        "  b1 = add(max_pool_3x3(h_prev), max_pool_3x3(h))\n"
        "  b2 = add(max_pool_3x3(b1), sep_conv_3x3(h))\n}",
    )
    graph = analyze(text).graph
    assert graph.node("cells.1.b2.left").attrs.get_int("stride") == 1
    assert graph.node("cells.1.b2.right").attrs.get_int("stride") == 2


def test_enas_rules_calibrate_h_place_the_aux_head_and_drop_the_fc_bias() -> None:
    graph = analyze("enas_micro").graph
    # h_i of another width: calibrate 1x1, then the layer_base 1x1 every cell applies.
    assert graph.node("cells.0.h").inputs == ("cells.0.h.calibrate",)
    assert graph.node("cells.0.h.calibrate").inputs == ("stem",)
    assert "cells.1.h.calibrate" in graph  # 5 x 36 concatenated channels -> 36
    # ENAS identity at stride 2: a factorized reduction without ReLU.
    fr = graph.node("cells.5.b4.right")
    assert (fr.op, fr.attrs.get_bool("relu")) == ("factorized_reduce", False)
    # Aux head after layer 12, the first cell after the second reduction (layers 5 and 11).
    assert {graph.node(f"cells.{i}.out").stage for i in (5, 11)} == {"reduce1", "reduce2"}
    assert graph.node("aux").inputs == ("cells.12.out",)
    assert graph.node("head.fc").attrs.get_bool("bias", True) is False
