"""The ONNX command line: compile -o .onnx, export CHECKPOINT, fp16, int8, and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner

import nasgen
from nasgen.cli import main

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")


def _ort(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]  # type: ignore[no-any-return]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_compile_to_onnx_matches_the_api_module(tmp_path: Path) -> None:
    # The command and the API call give the same network.
    out = tmp_path / "m.onnx"
    code, text = _invoke(
        "compile", "nasnet_a.cell", "--N", "4", "--F", "44", "--seed", "0", "-o", str(out)
    )
    assert code == 0, text
    assert "wrote" in text
    model = nasgen.compile("nasnet_a.cell", N=4, F=44, seed=0).eval()
    for batch in (1, 4):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 224, 224)).astype(np.float32)
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        assert np.abs(_ort(out, x) - expected).max() < 1e-4
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert meta["nasgen.source"] == model.nasgen_source
    assert "cell normal(h_prev, h)" in meta["nasgen.source"]


def _checkpoint(tmp_path: Path) -> Path:
    ckpt = tmp_path / "darts.safetensors"
    code, text = _invoke(
        "compile", "darts_v2", "--N", "1", "--F", "8", "--seed", "3", "-o", str(ckpt)
    )
    assert code == 0, text
    return ckpt


def test_export_checkpoint_equals_compile_to_onnx(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path)
    a, b, c = tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "c.onnx"
    assert _invoke("export", str(ckpt), "-o", str(a))[0] == 0
    for out in (b, c):
        code, text = _invoke(
            "compile", "darts_v2", "--N", "1", "--F", "8", "--seed", "3", "-o", str(out)
        )
        assert code == 0, text
    assert b.read_bytes() == c.read_bytes()  # same input, same bytes
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    assert np.array_equal(_ort(a, x), _ort(b, x))
    ma, mb = onnx.load(a), onnx.load(b)
    assert ma.metadata_props == mb.metadata_props
    # doc strings point at the file compiled, or into the metadata's genotype text
    docs_a = " ".join(n.doc_string for n in ma.graph.node)
    docs_b = " ".join(n.doc_string for n in mb.graph.node)
    assert "darts_v2.cell:" in docs_b
    assert "nasgen.source:" in docs_a


def test_static_batch_and_opset(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path)
    out = tmp_path / "s.onnx"
    code, text = _invoke(
        "export", str(ckpt), "-o", str(out), "--static-batch", "--batch-size", "4", "--opset", "17"
    )
    assert code == 0, text
    model = onnx.load(out)
    assert model.opset_import[0].version == 17
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4


def test_fp16_prints_size_and_agreement(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path)
    out = tmp_path / "h.onnx"
    code, text = _invoke("export", str(ckpt), "-o", str(out), "--fp16")
    assert code == 0, text
    assert "fp16:" in text and "top-1 agreement" in text and "16 seeded random inputs" in text
    model = onnx.load(out)
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def _images(folder: Path, count: int = 12) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48]
    for i in range(count):  # smooth colour gradients and blobs, not noise
        base = np.stack(
            [np.sin(xx / (5 + i)), np.cos(yy / (4 + i)), np.sin((xx + yy) / (6 + i))], axis=-1
        )
        pixels = ((base + 1) * 127.5 + rng.normal(0, 8, base.shape)).clip(0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(folder / f"img{i:02d}.png")
    return folder


def test_int8_with_calibration_images(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path)
    out = tmp_path / "q.onnx"
    images = _images(tmp_path / "calib")
    code, text = _invoke(
        "export", str(ckpt), "-o", str(out), "--int8", "--calibration", str(images)
    )
    assert code == 0, text
    assert "int8:" in text and "12 calibration images" in text
    model = onnx.load(out)
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    meta = {p.key: p.value for p in model.metadata_props}
    assert "per-channel" in meta["nasgen.precision"] and "nasgen.source" in meta


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--int8"], "--int8 needs --calibration"),
        (["--int8", "--fp16", "--calibration", "."], "choose one"),
    ],
)
def test_export_usage_errors_exit_1(tmp_path: Path, extra: list[str], message: str) -> None:
    ckpt = _checkpoint(tmp_path)
    code, text = _invoke("export", str(ckpt), "-o", str(tmp_path / "x.onnx"), *extra)
    assert code == 1 and message in text and "Traceback" not in text


def test_empty_calibration_folder_and_existing_output(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path)
    (tmp_path / "empty").mkdir()
    code, text = _invoke(
        "export",
        str(ckpt),
        "-o",
        str(tmp_path / "q.onnx"),
        "--int8",
        "--calibration",
        str(tmp_path / "empty"),
    )
    assert code == 1 and "no images" in text
    existing = tmp_path / "keep.onnx"
    existing.write_bytes(b"mine")
    code, text = _invoke("export", str(ckpt), "-o", str(existing))
    assert code == 1 and "exists" in text
    assert existing.read_bytes() == b"mine"


def test_export_of_a_non_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    code, text = _invoke("export", str(bad), "-o", str(tmp_path / "x.onnx"))
    assert code == 1 and "Traceback" not in text


def test_string_exports_still_work() -> None:
    code, text = _invoke("export", "darts", "darts_v2")
    assert code == 0 and text.startswith("Genotype(")


@pytest.mark.parametrize("suffix", [".onnx", ".safetensors"])
def test_output_into_a_missing_folder_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / "missing" / f"m{suffix}"
    code, text = _invoke("compile", "darts_v2", "--N", "1", "--F", "8", "-o", str(out))
    assert code == 1 and "E506" in text and "Traceback" not in text
    assert not out.parent.exists()
