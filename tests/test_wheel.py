"""The built wheel carries the grammar, the tables, the genotypes and the exporters, and its CLI
works from another directory in a fresh environment (no editable checkout in sight)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import lark
import networkx
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_runs_elsewhere(tmp_path: Path) -> None:
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", str(dist)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("nasgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "nasgen/grammar/nasgen.lark",
        "nasgen/grammar/nasgen.tables.json",
        "nasgen/genotypes/nasnet_a.cell",
        "nasgen/genotypes/darts_v2.cell",
        "nasgen/exporters/__init__.py",
    ):
        assert needed in names, needed

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # The pure-Python front-end dependencies, borrowed from this environment (offline).
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dirs = {str(Path(m.__file__).resolve().parent.parent) for m in (lark, networkx, click)}
    (Path(site) / "borrowed.pth").write_text("\n".join(sorted(dirs)) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(py), "-c", "import nasgen; print(nasgen.__file__)"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert where.startswith(str(venv)), where
    out = subprocess.run(
        [
            str(venv / "bin" / "nasgen"),
            "compile",
            "nasnet_a.cell",
            "--N",
            "4",
            "--F",
            "44",
            "--json",
        ],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(out.stdout)["params"] == 5_289_978
