"""Docs match the code and stand on their own.

- The language reference names every op spelling, network key and convention rule.
- The README keeps exactly its two set-up commands, and CI runs the test one.
- README and docs cite nothing outside the repository (no REFERENCE.md, no dead relative link).
- Every other ``sh`` block of a page works pasted in order into an empty folder: each line is a
  valid nasgen command line, writes a file no earlier line wrote, and reads only bundled
  genotypes or files an earlier line wrote. The README's blocks are also run, and so are the
  docs' blocks that write no file (writing one means building a network: seconds).
- docs/conventions.md lists every figure of genotypes/published.toml with today's count.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from nasgen.dsl.network import KEYS
from nasgen.ops import OPS, PRESETS, RULES

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FILE_SUFFIXES = (".cell", ".safetensors", ".onnx", ".svg", ".png", ".pdf")
OPERATORS = {"|", "||", "&&", ";", "&"}


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```(?:sh|bash)\n(.*?)```", text, flags=re.S)


def pasted_blocks(text: str) -> list[str]:
    """The ``sh`` blocks a reader pastes into any folder: all but the set-up commands, which
    install the checkout they run in."""
    return [b for b in sh_blocks(text) if "pip install" not in b]


def nasgen_commands(block: str) -> list[list[str]]:
    """The ``nasgen ...`` command lines of a block, split at pipes and ``&&``, comments dropped;
    a ``$(nasgen ...)`` substitution counts as a command of its own."""
    commands: list[list[str]] = []
    for line in block.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current: list[str] = []
        for token in [*lexer, ";"]:
            if token in OPERATORS:
                if current:
                    commands.append(current)
                current = []
                continue
            for inner in re.findall(r"\$\((nasgen [^)]*)\)", token):
                commands.append(shlex.split(inner))
            current.append(token)
    return [c for c in commands if c and c[0] == "nasgen"]


def _output(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg in ("-o", "--output", "--plot") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--output="):
            return arg.split("=", 1)[1]
    return None


def test_language_reference_names_every_op_key_and_rule() -> None:
    documented = set(re.findall(r"`([A-Za-z_0-9]+)`", LANGUAGE))
    missing = [s for s in OPS.spellings() if s not in documented]
    missing += [k for k in KEYS if k not in documented]
    missing += [r for r in RULES if r not in documented]
    missing += [p for p in PRESETS if p not in documented]
    assert not missing, f"docs/language.md does not mention: {missing}"


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    setup = [b for b in sh_blocks(README) if "pip install" in b]
    assert len(setup) == 2, setup
    assert "nasgen compile" in setup[0]
    assert "python -m pytest -q" in setup[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest -q" in ci


def test_readme_says_nasgen_draw_needs_graphviz() -> None:
    assert "apt-get install graphviz" in README


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_docs_cite_nothing_outside_the_repository(page: Path) -> None:
    text = _text(page)
    # The project's research notes are not shipped; the docs cite papers and code directly.
    assert "REFERENCE" not in text, f"{_name(page)} cites REFERENCE.md, which users do not have"
    dead = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            dead.append(target)
            continue
        if anchor and file.suffix == ".md" and anchor not in _anchors(_text(file)):
            dead.append(target)
    assert not dead, f"{_name(page)}: links to nothing: {dead}"


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ +(.+?) *$", re.sub(r"```.*?```", "", text, flags=re.S), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_shell_blocks_work_pasted_in_order_into_an_empty_folder(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasgen.cli import main
    from nasgen.dsl.source import bundled_names

    bundled = set(bundled_names()) | {n.removesuffix(".cell") for n in bundled_names()}
    monkeypatch.chdir(tmp_path)
    written: list[str] = []
    problems: list[str] = []
    for block in pasted_blocks(_text(page)):
        for args in nasgen_commands(block):
            line = shlex.join(args)
            for arg in args:
                if "..." in arg or arg.startswith("[") or re.fullmatch(r"[A-Z][A-Z0-9_]+", arg):
                    problems.append(f"{line}: {arg!r} is a placeholder, not a value")
            if "--calibration" in args:
                problems.append(f"{line}: needs the reader's images; show it in prose")
            out = _output(args)
            for arg in args[1:]:
                if arg == out or arg.startswith("-") or not arg.lower().endswith(FILE_SUFFIXES):
                    continue
                inside = any(arg.startswith(w.rstrip("/") + "/") for w in written)  # -o DIR
                if arg not in bundled and arg not in written and not inside:
                    problems.append(f"{line}: reads {arg}, which no earlier line writes")
            if out is not None:
                if out in written:
                    problems.append(f"{line}: writes {out} again (an earlier line wrote it)")
                written.append(out)
            try:  # the real option parser: unknown options and bad values fail here
                command = main.commands[args[1]] if len(args) > 1 else None
                if command is None:
                    raise click.UsageError("no command")
                parent = click.Context(main, info_name="nasgen")
                with command.make_context(args[1], args[2:], parent=parent):
                    pass
            except (click.ClickException, KeyError) as err:
                problems.append(f"{line}: {err}")
            if out is not None:
                Path(out).touch()  # so later lines that read it parse as they would
    assert not problems, f"{_name(page)}:\n" + "\n".join(problems)


def run_blocks(blocks: list[str], folder: Path) -> None:
    """Run ``blocks`` in order in ``folder`` as one bash script that stops at the first failure;
    check that every ``-o`` file was written and no temporary file is left."""
    outputs = [out for b in blocks for c in nasgen_commands(b) if (out := _output(c))]
    # The checkout's nasgen, whatever is on PATH.
    script = 'nasgen() { "$NASGEN_PYTHON" -m nasgen.cli "$@"; }\n' + "\n".join(blocks)
    env = {**os.environ, "NASGEN_PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    for out in outputs:
        assert (folder / out).stat().st_size > 0, out
    leftovers = [p.name for p in folder.iterdir() if ".nasgen-" in p.name]
    assert not leftovers, leftovers


@pytest.mark.slow
def test_readme_shell_blocks_run_in_an_empty_folder(tmp_path: Path) -> None:
    blocks = pasted_blocks(README)
    assert blocks, "the README has no shell block to run"
    run_blocks(blocks, tmp_path)


def print_only_blocks(page: Path) -> list[str]:
    """A page's pasted blocks that write no file: quick to run (writing means building)."""
    blocks = pasted_blocks(_text(page))
    return [b for b in blocks if not any(_output(c) for c in nasgen_commands(b))]


@pytest.mark.parametrize("page", [p for p in PAGES[1:] if print_only_blocks(p)], ids=_name)
def test_docs_shell_blocks_that_write_nothing_run(page: Path, tmp_path: Path) -> None:
    # The blocks that write files build networks, seconds each: the static test covers them.
    run_blocks(print_only_blocks(page), tmp_path)


def test_conventions_page_lists_every_published_figure_with_todays_count() -> None:
    from nasgen.verify import load_registry, verify

    page = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in page.splitlines()
        if line.startswith("| ")
    ]
    metric = {
        "params": "params",
        "macs": "MACs",
        "acts": "acts",
        "params_with_bn_stats": "params + BN stats",
    }
    status = {
        "reproduced": "reproduced",
        "other_convention": "other convention",
        "not_reproducible": "not reproducible",
    }
    registry = tomllib.loads((ROOT / "genotypes" / "published.toml").read_text(encoding="utf-8"))
    checks = verify(load_registry())
    assert len(checks) == len(registry["figure"])
    missing = []
    for check in checks:
        fig = check.figure
        want = [
            fig.model,
            fig.skeleton,
            metric[fig.metric],
            fig.published,
            f"{check.nasgen:,}",
            status[fig.status],
        ]
        found = [r for r in rows if len(r) == 7 and r[:4] + r[5:] == want]
        if len(found) != 1:
            missing.append(" | ".join(want))
    table = [r for r in rows if len(r) == 7 and r[0] not in ("model", "---")]
    assert not missing, "docs/conventions.md lacks (or repeats) rows:\n" + "\n".join(missing)
    assert len(table) == len(checks), "docs/conventions.md has figures the registry does not"
