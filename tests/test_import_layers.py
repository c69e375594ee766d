"""Layering: the front end, the IR and the CLI summary work with torch and onnx unimportable;
import-linter's contracts hold; every public module declares ``__all__``."""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nasgen

ROOT = Path(__file__).resolve().parent.parent

_NO_FRAMEWORKS = """
import importlib.abc, json, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "onnx", "onnxruntime", "safetensors"}:
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Block())
import nasgen, nasgen.dsl, nasgen.ir, nasgen.api, nasgen.cli
from click.testing import CliRunner
result = CliRunner().invoke(nasgen.cli.main, ["compile", "nasnet_a", "--json"])
assert result.exit_code == 0, result.output
check = CliRunner().invoke(nasgen.cli.main, ["check", "nasnet_a", "darts_v2"])
assert check.exit_code == 0, check.output
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "onnx", "onnxruntime"})
print(json.dumps({"params": json.loads(result.output)["params"], "loaded": loaded}))
"""


def test_front_end_ir_and_cli_summary_never_import_a_framework() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _NO_FRAMEWORKS], capture_output=True, text=True, check=True
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data == {"params": 5_289_978, "loaded": []}


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed next to this python")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(nasgen.__path__, "nasgen."):
        if info.name.split(".")[1] in {"grammar", "genotypes", "exporters"}:
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_every_module_declares_its_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    for public in exported:
        assert hasattr(module, public), f"{name}.__all__ names missing {public!r}"
