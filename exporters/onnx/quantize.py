"""Smaller ONNX models for the edge: int8 (QDQ, per channel) and fp16, with their agreement.

Pipeline stage: exporter (ONNX -> ONNX). Imports onnx, onnxruntime, numpy and (for images)
Pillow; never torch.

int8 settings, chosen to keep accuracy on x86 CPUs, where onnxruntime runs U8S8 kernels:
  - static quantization in the QDQ format (QuantizeLinear/DequantizeLinear pairs around each
    conv, the form every onnxruntime execution provider reads);
  - weights int8 symmetric *per output channel* (per-tensor scales lose the small channels
    that BatchNorm folding produces);
  - activations uint8 asymmetric, calibrated by MinMax over real images;
  - ``reduce_range`` (7-bit weights): without VNNI, x86's vpmaddubsw saturates the 16-bit
    intermediate sum of u8 x s8 products; 7 bits keep it exact (onnxruntime's own advice).
fp16 converts weights and compute, keeping float32 input and output so callers need no change.
Neither is faster than fp32 on every CPU; ``bench/bench_onnx.py`` measures it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx

from nasgen.errors import BackendError

__all__ = [
    "IMAGE_SUFFIXES",
    "Agreement",
    "agreement",
    "load_images",
    "to_fp16",
    "to_int8",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".webp")
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
"""ImageNet channel statistics: images are scaled to [0, 1], then normalised with these."""


def _pil() -> object:
    try:
        from PIL import Image
    except ImportError:
        raise BackendError(
            "E520",
            "reading calibration images needs Pillow",
            hint="pip install 'nasgen[quant]'",
        ) from None
    return Image


def load_images(
    folder: str | Path, size: int, channels: int = 3, limit: int = 256
) -> npt.NDArray[np.float32]:
    """Up to ``limit`` images of ``folder`` (sorted by name) as a (N, C, size, size) batch.

    Each image is resized (bilinear, shorter side to ``size``), centre-cropped, scaled to
    [0, 1] and normalised with the ImageNet mean and standard deviation (grey: their average).
    """
    root = Path(folder)
    if not root.is_dir():
        raise BackendError("E521", f"{root}: not a directory of calibration images")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not files:
        raise BackendError(
            "E521", f"{root}: no images ({', '.join(IMAGE_SUFFIXES)})", hint="add real images"
        )
    image_mod = _pil()
    batch = []
    for path in files:
        try:
            with image_mod.open(path) as img:  # type: ignore[attr-defined]
                img = img.convert("RGB" if channels == 3 else "L")
                w, h = img.size
                scale = size / min(w, h)
                img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), 2)
                left, top = (img.size[0] - size) // 2, (img.size[1] - size) // 2
                img = img.crop((left, top, left + size, top + size))
                array = np.asarray(img, dtype=np.float32) / 255.0
        except (OSError, ValueError) as err:
            raise BackendError("E522", f"{path}: not a readable image ({err})") from None
        if channels == 3:
            array = ((array - MEAN) / STD).transpose(2, 0, 1)
        else:
            array = ((array - MEAN.mean()) / STD.mean())[None]
        batch.append(array)
    return np.stack(batch).astype(np.float32)


class _Reader:
    """onnxruntime ``CalibrationDataReader`` over a batch, one image at a time."""

    def __init__(self, images: npt.NDArray[np.float32], input_name: str) -> None:
        self._items: Iterator[dict[str, npt.NDArray[np.float32]]] = iter(
            [{input_name: images[i : i + 1]} for i in range(len(images))]
        )

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        return next(self._items, None)


def to_int8(model: onnx.ModelProto, images: npt.NDArray[np.float32]) -> onnx.ModelProto:
    """Static int8 quantization of ``model`` (see the module docstring for the settings)."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    input_name = model.graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="nasgen-int8-") as tmp:
        src, pre, dst = (Path(tmp) / n for n in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        onnx.save(model, src)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(dst),
            _Reader(images, input_name),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        quantized = onnx.load(dst)
    _keep_metadata(model, quantized, "int8 QDQ per-channel, reduce_range, MinMax")
    return quantized


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Weights and compute in float16; float32 input and output (``keep_io_types``)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    half: onnx.ModelProto = convert_float_to_float16(model, keep_io_types=True)
    _toposort(half.graph)  # the converter appends its input casts at the end
    _keep_metadata(model, half, "fp16 weights and compute, fp32 input/output")
    return half


def _toposort(graph: onnx.GraphProto) -> None:
    """Reorder ``graph.node`` so every node follows its inputs (stable otherwise)."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        rest = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise BackendError("E523", f"ONNX graph has a cycle at {rest[0].name}")
        pending = rest
    copies = [onnx.NodeProto() for _ in ordered]
    for copy, node in zip(copies, ordered, strict=True):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)


def _keep_metadata(src: onnx.ModelProto, dst: onnx.ModelProto, how: str) -> None:
    del dst.metadata_props[:]
    for prop in src.metadata_props:
        dst.metadata_props.add(key=prop.key, value=prop.value)
    dst.metadata_props.add(key="nasgen.precision", value=how)
    dst.producer_name, dst.producer_version = src.producer_name, src.producer_version


@dataclass(frozen=True, slots=True)
class Agreement:
    """How closely a reduced-precision model follows the fp32 one on some inputs."""

    max_abs_error: float
    top1_agreement: float
    images: int


def _run(model: onnx.ModelProto, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outs = [session.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))]
    return np.concatenate(outs).astype(np.float32)


def agreement(
    reference: onnx.ModelProto, other: onnx.ModelProto, inputs: npt.NDArray[np.float32]
) -> Agreement:
    """Max absolute logit error and top-1 agreement of ``other`` against ``reference``."""
    a, b = _run(reference, inputs), _run(other, inputs)
    top1 = float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)))
    return Agreement(float(np.abs(a - b).max()), top1, len(inputs))


def sizes(models: Sequence[onnx.ModelProto]) -> list[int]:
    """Serialised sizes in bytes."""
    return [m.ByteSize() for m in models]
