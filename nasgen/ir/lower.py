"""Network lowering: ``Architecture`` (cells + network spec) -> ``IRGraph``.

Pipeline stage: IR (AST + N, F -> **IR**). Imports ``nasgen.errors``, ``nasgen.ops``,
``nasgen.dsl`` and the other ``nasgen.ir`` modules.

Stacking (docs/conventions.md; TF-slim ``nasnet.py``, DARTS ``cnn/model.py``):
``reductions + 1`` stages of N normal cells; at each stage boundary either a reduction cell is
inserted (TF-slim NASNet ``calc_reduction_layers``, DARTS ``layers // 3``: the same positions),
the first normal cell runs at stride 2 (PNASNet),
or an NB-201 residual block halves the map. Filters grow by ``filter_growth`` at each boundary.
Each cell reads the outputs of the two cells before it (``cell_outputs[-2]``, ``[-1]``),
with TF's ``skip_reduction_layer_input`` quirk reproduced exactly.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Generic, TypeVar

from nasgen.design import Stage
from nasgen.dsl.resolve import Architecture, body_stages
from nasgen.errors import IRValidationError
from nasgen.ir.emit import Emitter, NetworkSink, Place
from nasgen.ir.graph import IRGraph
from nasgen.ir.lower_cell import CellUse, lower_cell
from nasgen.ops import Attrs
from nasgen.ops.network import AUX_STYLES

__all__ = ["Stacker", "lower"]

S = TypeVar("S", bound=NetworkSink)


class Stacker(Generic[S]):
    """Walks the network layout, keeping TF's ``cell_outputs`` history, emitting into a sink.

    ``lower`` fills an ``IRGraph``; the static cost path (``nasgen.ir.static_cost``) fills a
    ledger and overrides ``cell`` to lower each distinct cell instance once.
    """

    def __init__(self, arch: Architecture, graph: S) -> None:
        """Walk ``arch`` into ``graph``."""
        self.arch = arch
        self.spec = arch.network
        self.graph = graph
        self.em = Emitter(graph)
        self.history: list[str | None] = []
        self.index = 0

    def filters(self, scale: Fraction) -> int:
        """F scaled for a stage (E311 below one filter)."""
        width = int(self.spec.num_filters * scale)
        if width < 1:
            raise IRValidationError(
                "E311",
                f"F = {self.spec.num_filters} scaled by {scale} leaves {width} filters",
                self.arch.network_span("F"),
                f"F must be at least {int(1 / scale) if scale < 1 else 1} here",
            )
        return width

    def cell(
        self, name: str, prefix: str, stage: str, stride: int, scale: Fraction, h_prev: str | None
    ) -> str:
        """Emit one cell instance reading the history's last output (and ``h_prev``)."""
        h = self.history[-1]
        assert h is not None
        use = CellUse(self.arch.cells[name], prefix, stage, stride, self.filters(scale), h_prev, h)
        out = lower_cell(self.em, use, self.arch.convention)
        self.history.append(out)
        return out

    def conv(self, node_id: str, src: str, place: Place, **attrs: int | bool | str) -> str:
        """Emit a conv_bn of the stem."""
        full = Attrs.of({"stride": 1, "padding": "same", "relu": False}, **attrs)
        return self.em.emit(node_id, "conv_bn", full, (src,), place).id

    def stem(self, image: str) -> None:
        """Emit the stem; set the first two entries of the cell history."""
        spec, place = self.spec, Place("stem", "stem", span=self.arch.network_span("stem"))
        if spec.stem == "conv3x3":
            width = int(spec.num_filters * Fraction(spec.stem_multiplier))
            self.history = [None, self.conv("stem", image, place, k=3, c_out=width)]
        elif spec.stem == "darts_imagenet":
            half = self.conv(
                "stem0.conv0", image, place, k=3, stride=2, c_out=spec.num_filters // 2
            )
            s0 = self.conv(
                "stem0.conv1", half, place, k=3, stride=2, c_out=spec.num_filters, relu=True
            )
            s1 = self.conv("stem1", s0, place, k=3, stride=2, c_out=spec.num_filters, relu=True)
            self.history = [s0, s1]
        else:  # nasnet_imagenet: conv0 (3x3 s2 VALID) then two stem cells at F/4 and F/2
            width = int(32 * Fraction(spec.stem_multiplier))
            conv0 = self.conv(
                "stem.conv0", image, place, k=3, stride=2, padding="valid", c_out=width
            )
            self.history = [None, conv0]
            scale = Fraction(1, spec.filter_growth**2)
            for j in range(2):
                self.cell(spec.stem_cell, f"stem.cell{j}", "stem", 2, scale, self.history[-2])
                scale *= spec.filter_growth

    def aux(self, src: str) -> None:
        """Emit the auxiliary head reading ``src``."""
        span = self.arch.network_span("aux_head")
        attrs = Attrs.of(style=self.spec.aux_head, classes=self.spec.classes)
        self.graph.aux_output = self.em.emit(
            "aux", "aux_head", attrs, (src,), Place("aux", "aux", span=span)
        ).id

    def stages(self) -> None:
        """Emit the stages of cells, reducing between them."""
        spec = self.spec
        scale, prev = Fraction(1), self.history[-2]
        placement = AUX_STYLES[spec.aux_head].placement if spec.aux_head != "none" else "none"
        for stage in range(spec.reductions + 1):
            for j in range(spec.n_cells):
                stride = 1
                if stage > 0 and j == 0:
                    scale *= spec.filter_growth
                    prev, stride = self.boundary(stage, scale, prev)
                else:
                    prev = self.history[-2]
                out = self.cell(
                    spec.normal, f"cells.{self.index}", f"stage{stage + 1}", stride, scale, prev
                )
                self.index += 1
                last_before = stage == 1 and j == spec.n_cells - 1
                first_after = stage == 2 and j == 0
                if (placement == "before_reduction2" and last_before) or (
                    placement == "after_reduction2_cell1" and first_after
                ):
                    self.aux(out)

    def boundary(self, stage: int, scale: Fraction, prev: str | None) -> tuple[str | None, int]:
        """Reduce between stages; return (h_prev for the next normal cell, its stride)."""
        spec, label = self.spec, f"reduce{stage}"
        if spec.reduction_mode == "stride_normal":
            # PNASNet: `if skip_reduction_layer_input or not is_reduction: prev = outputs[-2]`.
            return (self.history[-2] if spec.skip_reduction_layer_input else prev), 2
        before = self.history[-2]
        out = self.cell(spec.reduction, f"cells.{self.index}", label, 2, scale, before)
        self.index += 1
        placement = AUX_STYLES[spec.aux_head].placement if spec.aux_head != "none" else "none"
        if stage == 2 and placement == "after_reduction2":
            self.aux(out)
        return (before if spec.skip_reduction_layer_input else self.history[-2]), 1

    def nb201(self) -> None:
        """Emit NB-201's layout: stages of cells, residual blocks between them."""
        spec = self.spec
        scale = Fraction(1)
        for stage in range(spec.reductions + 1):
            if stage > 0:
                scale *= spec.filter_growth
                span = self.arch.network_span("reduction_mode")
                place = Place(f"reduce{stage}", "reduction", f"cells.{self.index}", span=span)
                attrs = Attrs.of(c_out=self.filters(scale), stride=2)
                src = self.history[-1]
                assert src is not None
                self.history.append(
                    self.em.emit(f"cells.{self.index}", "resnet_block", attrs, (src,), place).id
                )
                self.index += 1
            for _ in range(spec.n_cells):
                self.cell(spec.normal, f"cells.{self.index}", f"stage{stage + 1}", 1, scale, None)
                self.index += 1

    def stage_body(self, image: str) -> None:
        """Emit a stage network (RegNet or explicit stages): the simple stem, then the blocks.

        pycls ``AnyNet`` (docs/design/regnet_pycls.md section 3): stage i holds its depth of
        blocks; the first reads the previous width at the stage's stride, the others keep it.
        """
        x = self.stage_stem(image)
        for i, stage in enumerate(body_stages(self.spec), start=1):
            x = self.stage(i, stage, x)
        self.history = [None, x]

    def stage_stem(self, image: str) -> str:
        """The simple stem of a stage network: conv 3x3 stride 2 - BN - ReLU."""
        place = Place("stem", "stem", span=self.arch.network_span("stem"))
        x = self.conv("stem", image, place, k=3, stride=2, c_out=self.spec.stem_width)
        return self.em.emit("stem_relu", "relu", Attrs(), (x,), place).id

    def stage(self, i: int, stage: Stage, x: str) -> str:
        """Stage ``i`` (1-based) of a stage network reading ``x``; returns its output."""
        span = self.arch.network_span("body")
        for j in range(stage.depth):
            stride = stage.stride if j == 0 else 1
            place = Place(f"stage{i}", "op", f"s{i}.b{j + 1}", None, span)
            x = self.block(f"s{i}.b{j + 1}", x, stage.width, stride, stage, place)
        return x

    def block(
        self, prefix: str, x: str, w_out: int, stride: int, stage: Stage, place: Place
    ) -> str:
        """One block of the network's ``block`` kind reading ``x``; returns its output."""
        emit = {"x": self.x_block, "res_basic": self.basic_block, "vanilla": self.vanilla}
        return emit[self.spec.block](prefix, x, w_out, stride, stage, place)

    def vanilla(self, prefix: str, x: str, w_out: int, stride: int, _: Stage, place: Place) -> str:
        """The vanilla block (pycls ``VanillaBlock``): two 3x3 conv-BN-ReLUs, the first strided."""
        a = self.conv(f"{prefix}.a", x, place, k=3, stride=stride, c_out=w_out)
        a = self.em.emit(f"{prefix}.a_relu", "relu", Attrs(), (a,), place).id
        b = self.conv(f"{prefix}.b", a, place, k=3, c_out=w_out)
        return self.em.emit(f"{prefix}.b_relu", "relu", Attrs(), (b,), place).id

    def basic_block(
        self, prefix: str, x: str, w_out: int, stride: int, _: Stage, place: Place
    ) -> str:
        """The residual basic block (pycls ``ResBasicBlock``): two 3x3 convs, plus x."""
        a = self.conv(f"{prefix}.a", x, place, k=3, stride=stride, c_out=w_out)
        a = self.em.emit(f"{prefix}.a_relu", "relu", Attrs(), (a,), place).id
        b = self.conv(f"{prefix}.b", a, place, k=3, c_out=w_out)
        return self.residual(prefix, x, b, w_out, stride, place)

    def residual(self, prefix: str, x: str, f: str, w_out: int, stride: int, place: Place) -> str:
        """ReLU(f + x), x through a 1x1 conv-BN at the stride when the width or size changes."""
        short = x
        if self.graph.node(x).shape[0] != w_out or stride != 1:
            short = self.conv(f"{prefix}.proj", x, place, k=1, stride=stride, c_out=w_out)
        added = self.em.emit(f"{prefix}.add", "add", Attrs(), (f, short), place).id
        return self.em.emit(f"{prefix}.out", "relu", Attrs(), (added,), place).id

    def x_block(
        self, prefix: str, x: str, w_out: int, stride: int, stage: Stage, place: Place
    ) -> str:
        """One X block (Y with ``se``) reading ``x``; returns its output."""
        w_in = self.graph.node(x).shape[0]
        w_b = round(w_out * stage.bottleneck)
        groups = w_b // stage.group_width
        relu = Attrs()
        a = self.conv(f"{prefix}.a", x, place, k=1, c_out=w_b)
        a = self.em.emit(f"{prefix}.a_relu", "relu", relu, (a,), place).id
        b = self.conv(f"{prefix}.b", a, place, k=3, stride=stride, c_out=w_b, groups=groups)
        b = self.em.emit(f"{prefix}.b_relu", "relu", relu, (b,), place).id
        c_se = round(w_in * self.spec.se)
        if c_se > 0:
            b = self.em.emit(f"{prefix}.se", "se", Attrs.of(c_se=c_se), (b,), place).id
        c = self.conv(f"{prefix}.c", b, place, k=1, c_out=w_out)
        return self.residual(prefix, x, c, w_out, stride, place)

    def head(self) -> None:
        """Emit the classifier head."""
        spec, place = self.spec, Place("head", "head", span=self.arch.network_span("head"))
        last = self.history[-1]
        assert last is not None
        if spec.head == "bn_relu_gap":
            last = self.em.emit("head.bn", "batch_norm", Attrs.of(relu=True), (last,), place).id
        pooled = self.em.emit(
            "head.pool", "global_avg_pool", Attrs.of(relu=spec.head == "relu_gap"), (last,), place
        )
        fc = Attrs.of(c_out=spec.classes, dropout=spec.dropout)
        if not spec.classifier_bias:
            fc = fc.replace(bias=False)
        self.graph.output = self.em.emit("head.fc", "linear", fc, (pooled.id,), place).id

    def build(self) -> S:
        """Emit the whole network and return the sink."""
        spec = self.spec
        if spec.aux_head != "none" and spec.reductions < 2:
            raise IRValidationError(
                "E308",
                f"aux_head = {spec.aux_head} is placed by the second reduction, "
                f"but reductions = {spec.reductions}",
                self.arch.network_span("aux_head"),
                "set aux_head = none",
            )
        size = spec.input_size
        attrs = Attrs.of(c=spec.input_channels, h=size, w=size)
        image = self.em.emit("input", "input", attrs, (), Place("stem", "input")).id
        if spec.body != "cells":
            self.stage_body(image)
            self.head()
            return self.graph
        self.stem(image)
        if spec.reduction_mode == "resnet_block":
            self.nb201()
        else:
            self.stages()
        self.head()
        return self.graph


def lower(arch: Architecture) -> IRGraph:
    """Lower a resolved architecture to the IR (shapes inferred, not yet validated)."""
    return Stacker(arch, IRGraph(arch)).build()
