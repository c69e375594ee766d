"""Checkpoints: loading trusts nothing in the file (E503/E504 before any allocation), writes
are atomic, mode-keeping and byte-deterministic, and old (safetensors-written) files load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

import nasgen  # noqa: E402
from nasgen.backends.torch import checkpoint  # noqa: E402
from nasgen.errors import BackendError, NasgenError  # noqa: E402


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = nasgen.compile("darts_v2", N=1, F=4, seed=0)
    return nasgen.save(model, tmp_path_factory.mktemp("ckpt") / "base.safetensors")


def _parts(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    tensors = safetensors_torch.load_file(str(path))
    n = int.from_bytes(path.read_bytes()[:8], "little")
    meta = json.loads(path.read_bytes()[8 : 8 + n])["__metadata__"]
    return tensors, meta


def _edited(base: Path, out: Path, tensors: dict[str, Any] | None = None, **meta: str) -> Path:
    """A copy of ``base`` written by safetensors itself, with edited tensors or metadata."""
    stored, metadata = _parts(base)
    safetensors_torch.save_file(tensors or stored, str(out), metadata={**metadata, **meta})
    return out


def _with_options(base: Path, out: Path, **options: object) -> Path:
    _, meta = _parts(base)
    return _edited(
        base,
        out,
        **{"nasgen.options": json.dumps({**json.loads(meta["nasgen.options"]), **options})},
    )


def _load_error(path: Path) -> NasgenError:
    with pytest.raises(NasgenError) as err:
        nasgen.load(path)
    assert str(path) in str(err.value)
    return err.value


@pytest.fixture
def no_tensor_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("tensor data was read before the check")

    monkeypatch.setattr(checkpoint, "_read_tensors", refuse)


_NO_TORCH = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "safetensors", "onnx"}:
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, Block())
import nasgen
from nasgen.errors import NasgenError
try:
    nasgen.load(sys.argv[1])
except NasgenError as err:
    print(err.code)
"""


@pytest.mark.parametrize(("F", "N"), [(400, 6), (2000, 6)])
def test_edited_sizes_are_refused_before_torch_is_even_imported(
    saved: Path, tmp_path: Path, F: int, N: int
) -> None:
    # Before: a 1.8 GB module (F=400), minutes for F=2000, then a RuntimeError traceback.
    path = _with_options(saved, tmp_path / "edited.safetensors", F=F, N=N)
    out = subprocess.run(
        [sys.executable, "-c", _NO_TORCH, str(path)], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "E504", out.stderr


def test_the_edited_size_message_names_both_counts(saved: Path, tmp_path: Path) -> None:
    err = _load_error(_with_options(saved, tmp_path / "e.safetensors", F=400, N=6))
    assert err.code == "E504"
    assert "392,390,308" in str(err) and "422,444" in str(err)


def test_a_stored_int32_weight_is_refused(
    saved: Path, tmp_path: Path, no_tensor_reads: None
) -> None:
    tensors, _ = _parts(saved)
    tensors["stem.conv.weight"] = tensors["stem.conv.weight"].to(torch.int32)
    err = _load_error(_edited(saved, tmp_path / "i32.safetensors", tensors))
    assert err.code == "E504"
    assert "'stem.conv.weight' is I32[12, 3, 3, 3], the genotype needs F32[12, 3, 3, 3]" in str(err)


def test_a_weight_of_the_same_count_but_another_shape_is_refused_before_reading(
    saved: Path, tmp_path: Path, no_tensor_reads: None
) -> None:
    tensors, _ = _parts(saved)
    tensors["stem.conv.weight"] = tensors["stem.conv.weight"].reshape(3, 12, 3, 3).contiguous()
    err = _load_error(_edited(saved, tmp_path / "shape.safetensors", tensors))
    assert err.code == "E504"
    assert "F32[3, 12, 3, 3]" in str(err)


def test_names_from_the_file_are_quoted_in_messages(saved: Path, tmp_path: Path) -> None:
    tensors, _ = _parts(saved)
    tensors["\x1b[2Jevil"] = tensors.pop("stem.conv.weight")
    err = _load_error(_edited(saved, tmp_path / "name.safetensors", tensors))
    assert err.code == "E504" and "\x1b" not in str(err)
    path = _with_options(saved, tmp_path / "key.safetensors", **{"\x1b[2J": None})
    err = _load_error(path)
    assert err.code == "E208" and "\x1b" not in str(err)


@pytest.mark.parametrize(
    ("old", "new"), [("sep_conv_3x3", "sep_conv_5x5"), ("dil_conv_3x3", "dil_conv_5x5")]
)
def test_an_op_swapped_for_one_with_the_same_names_is_refused(
    saved: Path, tmp_path: Path, old: str, new: str, no_tensor_reads: None
) -> None:
    _, meta = _parts(saved)
    assert old in meta["nasgen.source"]
    source = meta["nasgen.source"].replace(old, new)
    err = _load_error(_edited(saved, tmp_path / "swap.safetensors", **{"nasgen.source": source}))
    assert err.code == "E504"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ("[1]", "not an object"),
        ("null", "not an object"),
        ('"F"', "not an object"),
        ("{", "not JSON"),
        ('{"F": 1' + "0" * 5000 + "}", "not JSON"),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_options_metadata_that_is_not_an_object_is_e503(
    saved: Path, tmp_path: Path, options: str, words: str
) -> None:
    err = _load_error(_edited(saved, tmp_path / "o.safetensors", **{"nasgen.options": options}))
    assert err.code == "E503"
    assert words in str(err)


@pytest.mark.parametrize("value", [None, [4], {"a": 1}])
def test_an_options_value_json_cannot_spell_in_the_language_is_e503(
    saved: Path, tmp_path: Path, value: object
) -> None:
    err = _load_error(_with_options(saved, tmp_path / "v.safetensors", classes=value))
    assert err.code == "E503"
    assert f"`classes` cannot be {json.dumps(value)}" in str(err)
    assert f"checkpoint metadata {tmp_path / 'v.safetensors'}#nasgen.options, key classes" in str(
        err
    )


def test_an_out_of_range_options_value_names_the_checkpoint_not_the_command_line(
    saved: Path, tmp_path: Path
) -> None:
    path = _with_options(saved, tmp_path / "r.safetensors", F=0)
    err = _load_error(path)
    assert err.code == "E217"
    assert f"(checkpoint metadata {path}#nasgen.options, key F)" in str(err)
    assert "command-line" not in str(err)


def test_an_unreadable_checkpoint_says_cannot_read(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Path.open

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == saved:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    err = _load_error(saved)
    assert err.code == "E503"
    assert "cannot read: Permission denied" in str(err)


def test_missing_directory_and_truncated_checkpoints_are_e503(saved: Path, tmp_path: Path) -> None:
    assert "no such checkpoint" in str(_load_error(tmp_path / "missing.safetensors"))
    assert "is a directory" in str(_load_error(tmp_path))
    data = saved.read_bytes()
    for cut in (0, 7, 8, 100, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(data[:cut])
        assert _load_error(path).code == "E503"
    path = tmp_path / "extra.safetensors"
    path.write_bytes(data + b"\0" * 4)
    assert _load_error(path).code == "E503"


def test_a_checkpoint_written_by_safetensors_itself_still_loads(
    saved: Path, tmp_path: Path
) -> None:
    old = _edited(saved, tmp_path / "old.safetensors")
    assert old.read_bytes() != saved.read_bytes()
    a, b = nasgen.load(saved).eval(), nasgen.load(old).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


def test_safetensors_reads_what_nasgen_writes(saved: Path) -> None:
    tensors, meta = _parts(saved)
    state = nasgen.load(saved).state_dict()
    assert tensors.keys() == state.keys()
    assert all(torch.equal(tensors[k], state[k]) for k in state)
    assert set(meta) == {"nasgen.source", "nasgen.options", "nasgen.version"}


def test_a_loaded_module_owns_real_trainable_parameters(saved: Path) -> None:
    model = nasgen.load(saved)
    assert not any(t.is_meta for t in model.state_dict().values())
    assert all(isinstance(p, torch.nn.Parameter) and p.requires_grad for p in model.parameters())
    model.train()
    logits, aux = model(torch.randn(2, 3, 32, 32))
    (logits.sum() + aux.sum()).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_a_loaded_module_does_not_change_when_its_file_is_overwritten(
    saved: Path, tmp_path: Path
) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(saved.read_bytes())
    model = nasgen.load(path)
    before = model.stem.conv.weight.detach().clone()
    with path.open("r+b") as fh:  # rewritten in place, as `cp` would
        fh.truncate(0)
    torch.testing.assert_close(model.stem.conv.weight.detach(), before)


_SAVE = """
import sys, nasgen
nasgen.save(nasgen.compile("darts_v2", N=1, F=4, seed=11), sys.argv[1])
"""


def test_two_processes_with_the_same_seed_write_identical_bytes(tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.safetensors" for i in range(2)]
    for path in paths:
        subprocess.run([sys.executable, "-c", _SAVE, str(path)], check=True, timeout=120)
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_checkpoints_get_the_umask_mode_and_leave_no_temporary(tmp_path: Path) -> None:
    model = nasgen.compile("darts_v2", N=1, F=4, seed=0)
    old = os.umask(0o022)
    try:
        path = nasgen.save(model, tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
    path.chmod(0o640)
    nasgen.save(model, path)  # an existing file keeps its own mode
    assert path.stat().st_mode & 0o777 == 0o640


def test_saving_through_a_symlink_replaces_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.safetensors"
    target.write_bytes(b"old")
    link = tmp_path / "link.safetensors"
    link.symlink_to(target.name)
    nasgen.save(nasgen.compile("darts_v2", N=1, F=4, seed=0), link)
    assert link.is_symlink()
    assert nasgen.load(link) is not None and target.stat().st_size > 1000


def test_a_failed_write_leaves_no_temporary_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"previous")

    def broken(t: object) -> memoryview:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(checkpoint, "_raw", broken)
    with pytest.raises(RuntimeError):
        nasgen.save(nasgen.compile("darts_v2", N=1, F=4, seed=0), path)
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_load_runs_the_memory_guard(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASGEN_MEMORY_LIMIT", "1M")
    with pytest.raises(BackendError) as err:
        nasgen.load(saved)
    assert err.value.code == "E540"
    assert nasgen.load(saved, max_memory="none") is not None
