"""nasgen.files: atomic writes with the umask's mode, symlinks written through, temp files named
after their target and removed on errors, on SIGTERM, and after a kill -9 by the next write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasgen.errors import NasgenError
from nasgen.files import atomic_path, check_output, output_kind, write_atomic


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_new_files_follow_the_umask(tmp_path: Path) -> None:
    for umask, expected in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        old = os.umask(umask)
        try:
            target = write_atomic(tmp_path / f"f{umask:o}.cell", "x")
        finally:
            os.umask(old)
        assert _mode(target) == expected


def test_an_overwritten_file_keeps_its_mode(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "m.cell"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o640


def test_a_symlink_is_written_through(tmp_path: Path, umask_022: None) -> None:
    real = tmp_path / "real.cell"
    real.write_text("old")
    link = tmp_path / "link.cell"
    link.symlink_to("real.cell")
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == "real.cell"
    assert real.read_text() == "new"


def test_temp_files_are_named_after_the_target_and_removed_on_error(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    seen: list[str] = []
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        seen.append(tmp.name)
        raise RuntimeError("interrupted")
    assert seen[0].startswith(".model.onnx.nasgen-") and seen[0].endswith(".tmp")
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(NasgenError) as err:
        write_atomic(tmp_path / "missing" / "x.cell", "x")
    assert err.value.code == "E507"


_SLOW_WRITER = """
import sys, time
from nasgen.cli.app import exit_on_signals
from nasgen.files import atomic_path
exit_on_signals()
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"partial")
    print("writing", flush=True)
    time.sleep(60)
"""


def _start_slow_writer(target: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    return proc


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.slow
def test_sigterm_during_a_write_removes_the_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "big.safetensors"
    proc = _start_slow_writer(target)
    assert len(_temps(tmp_path)) == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 128 + signal.SIGTERM
    assert _temps(tmp_path) == [] and not target.exists()


@pytest.mark.slow
def test_after_kill_9_the_next_write_removes_the_stale_temp(tmp_path: Path) -> None:
    target = tmp_path / "big.safetensors"
    proc = _start_slow_writer(target)
    proc.kill()
    proc.wait(30)
    assert len(_temps(tmp_path)) == 1  # nothing can run on SIGKILL
    other = tmp_path / ".unrelated.tmp"
    other.write_text("not ours")
    time.sleep(0.01)
    write_atomic(target, b"done")
    assert target.read_bytes() == b"done"
    assert _temps(tmp_path) == [".unrelated.tmp"]


def test_output_kind_is_case_insensitive_and_refuses_unknown_suffixes() -> None:
    kinds = {".onnx": "onnx", ".safetensors": "safetensors"}
    assert output_kind(Path("m.ONNX"), kinds) == "onnx"
    assert output_kind(Path("m.SafeTensors"), kinds) == "safetensors"
    for bad in ("m.pt", "m.cell", "model", "m.onnx.bak"):
        with pytest.raises(NasgenError) as err:
            output_kind(Path(bad), kinds)
        assert err.value.code == "E508" and ".onnx" in str(err.value)


def test_check_output_refuses_existing_files_directories_and_missing_folders(
    tmp_path: Path,
) -> None:
    (tmp_path / "x.cell").write_text("x")
    cases = [(tmp_path / "x.cell", "E505"), (tmp_path, "E506"), (tmp_path / "no" / "x", "E506")]
    for path, code in cases:
        with pytest.raises(NasgenError) as err:
            check_output(path, force=False)
        assert err.value.code == code
    check_output(tmp_path / "x.cell", force=True)
