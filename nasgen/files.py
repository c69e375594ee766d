"""Writing files a user will keep: output-path rules, atomic replacement, modes and temp names.

Pipeline stage: shared by every stage that writes (the CLI, the torch checkpoint writer, the
ONNX exporter). Imports ``nasgen.errors`` only.

NOTE: [One way to write a file] Every file nasgen writes goes through ``atomic_path``:
  1. the bytes go to a temporary file beside the target, named after it
     (``.model.onnx.nasgen-<pid>-<random>.tmp``), so a user who finds one knows what it is;
  2. it is flushed and fsynced, given the target's mode (an existing file keeps its own; a new
     one gets ``0o666`` less the umask, as ``open`` would), and renamed over the target, so a
     reader never sees half a file;
  3. a symbolic link is written through: the file it points at is replaced, the link stays;
  4. on any exception (and on SIGTERM / SIGHUP, which the CLI turns into ``SystemExit``) the
     temporary file is removed; after a ``kill -9`` the next write to the same target removes
     the temporaries of processes that no longer exist.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path

from nasgen.errors import NasgenError

__all__ = [
    "atomic_path",
    "check_output",
    "default_mode",
    "output_kind",
    "write_atomic",
]

_TMP_MARK = ".nasgen-"


def output_kind(path: Path, kinds: Mapping[str, str], option: str = "-o") -> str:
    """The kind of output ``path`` names by its suffix (case-insensitive), or a user error.

    ``kinds`` maps suffixes (``".onnx"``) to kinds (``"onnx"``).
    """
    suffix = path.suffix.lower()
    if suffix in kinds:
        return kinds[suffix]
    known = ", ".join(sorted(kinds))
    what = f"suffix {path.suffix!r}" if path.suffix else "no suffix"
    raise NasgenError(
        "E508",
        f"{option} {path}: {what}; nasgen writes {known} here",
        hint=f"name the file with one of: {known}",
    )


def check_output(path: Path, force: bool) -> None:
    """Refuse, before any work, an output that exists (without ``force``) or has no folder."""
    if path.is_dir():
        raise NasgenError("E506", f"{path}: is a directory; name a file to write")
    if path.exists() and not force:
        raise NasgenError("E505", f"{path} exists; pass --force to overwrite it")
    parent = path.parent
    if not parent.is_dir():
        raise NasgenError("E506", f"{parent}: no such directory")


def default_mode() -> int:
    """The mode ``open`` gives a new file: ``0o666`` less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to clean
        return True
    return True


def _remove_stale(target: Path) -> None:
    """Remove temporaries of ``target`` left by nasgen processes that no longer run."""
    prefix = f".{target.name}{_TMP_MARK}"
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            pid_text = name[len(prefix) :].split("-", 1)[0]
            if pid_text.isdigit() and int(pid_text) != os.getpid() and not _is_alive(int(pid_text)):
                with contextlib.suppress(OSError):
                    entry.unlink()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    See NOTE [One way to write a file]. An operating-system error is a user error (E507).
    """
    target = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = default_mode()
    except OSError as err:
        raise NasgenError("E507", f"cannot write {path}: {err.strerror or err}") from None
    folder = target.parent
    _remove_stale(target)
    tmp = folder / f".{target.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        _fsync_dir(folder)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise NasgenError("E507", f"cannot write {path}: {err.strerror or err}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp, open(tmp, "xb") as fh:
        fh.write(raw)
    return Path(path)
