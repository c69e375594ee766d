"""Fuzz campaign for the foreign doors: DARTS, NB-201 and TF-slim importers, export -> import.

Usage::

    python bench/fuzz_foreign.py                     # 100,000 inputs per door, a table
    python bench/fuzz_foreign.py --n 2000 --json out.json --jobs 2
    python bench/fuzz_foreign.py --door darts --replay 4711   # print and rerun one input

Every input is derived from its door, ``--seed`` and its index alone (``random.Random``), so
a crash is replayed with ``--replay INDEX``. Inputs are mutations of seeds (the bundled
DARTS-family genotypes and random DARTS-form / NB-201 genotypes exported to their strings,
``tests/data/tfslim/*.json``, a genotypes.py-style file) or, for the ``roundtrip`` door,
random valid genotypes exported and imported back. An input passes when the import (read,
resolve, lower, validate, print round trip, as ``nasgen import`` does) succeeds or raises a
``NasgenError`` whose ``str()`` renders with a span inside the input; anything else is a
crash: another exception, a wrong round trip, an input over ``--time-limit`` seconds, or a
worker killed outright. Workers run under ``RLIMIT_AS`` (``--memory-mib``, default 1 GiB).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOORS = ("darts", "nb201", "tfslim", "roundtrip")
_TOKENS = [
    "(", ")", "[", "]", "{", "}", ",", ":", "=", "'", '"', "'''", "\\", "#", "\n", "\r\n",
    "\r", "\t", " ", ";", ".", "-", "--", "+", "*", "**", "-1", "0", "1", "2", "5", "7",
    "True", "False", "None", "null", "true", "1.5", "1e9", "1_0", "0x1F", "10**18", "9" * 40,
    "9" * 120, "range(", "range(10**9)", "range(1000000000)", "range(2, 6)", "range(6, 2, -1)",
    "list(", "tuple(", "Genotype(", "Genotype", "DARTS = X\n", "X = DARTS\n", "normal=",
    "reduce_concat=", "extra=1", "sep_conv_3x3", "sep_cnv_3x3", "skip_connect", "none",
    "'none'", "'sep_conv_3x3'", "separable_3x3_2", "separable_7x7_2", "1x7_7x1",
    '"operations"', '"used_hiddenstates"', '"hiddenstate_indices"', '"normal"', '"reduce"',
    '"reduction"', '"source_raw"', "operations = ", "self.", "import os\n", "|", "~", "+",
    "|none~0|", "|nor_conv_3x3~1|", "~²", "~٣", "\x00", "é", "\udcff", "\ud83d", "\u2028",
    "\ufeff", "\\u00e9", "\\ud83d", "\\x41", "\\N{DASH}", "r'", "b'", "f'",
]  # fmt: skip
_SPECIAL_NUMBERS = ["9", "-1", "True", "1.0", "99", "0", "1" * 30, "-0", "1e3", "2_0"]


class _Slow(BaseException):
    """SIGALRM: an input ran far past the time limit (no ``except Exception`` catches it)."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _Slow


# -- seeds (built once per worker) ---------------------------------------------------------


def _seeds() -> dict[str, list[str]]:
    from nasgen.api import load_source
    from nasgen.dsl import parse
    from nasgen.dsl.foreign import export_darts, export_nb201
    from nasgen.dsl.generate import GenotypeSpace, random_genotype

    form = GenotypeSpace(darts_form=True)
    bundled = ["darts_v1", "darts_v2", "pc_darts", "p_darts", "nasnet_a_darts", "amoebanet_darts"]
    darts = [export_darts(parse(load_source(n))) for n in bundled]
    darts += [export_darts(random_genotype(s, form)) for s in range(8)]
    darts.append(
        "from collections import namedtuple\n\nGenotype = namedtuple('Genotype', 'normal "
        "normal_concat reduce reduce_concat')\n\nPRIMITIVES = [\n    'none',\n    "
        "'max_pool_3x3',\n]\n\nV1 = " + darts[0] + "\nV2 = Genotype(\n  normal = [\n    "
        "('sep_conv_3x3', 0),\n    ('skip_connect', 1),\n  ],\n  normal_concat = range(2, 3),"
        "\n  reduce = [('max_pool_3x3', 0), ('dil_conv_5x5', 1)],\n  reduce_concat = [2],\n)\n"
        "\nDARTS = V2  # the default\n"
    )
    nb201 = [export_nb201(random_genotype(s, nb201=True)) for s in range(12)]
    nb201.append(export_nb201(parse(load_source("nb201_example"))))
    tfslim = [
        p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests/data/tfslim").glob("*.json"))
    ]
    tfslim += [
        "operations = ['separable_5x5_2', 'none', 'avg_pool_3x3', 'none']\n"
        "used_hiddenstates = [1, 0, 0, 0]\nhiddenstate_indices = [0, 1, 1, 2]\n",
        '{"operations": ["none", "none"], "hiddenstate_indices": [0, 1], '
        '"used_hiddenstates": [1, 0, 0]}',
    ]
    return {"darts": darts, "nb201": nb201, "tfslim": tfslim}


# -- mutation ------------------------------------------------------------------------------


def _random_text(rng: random.Random, size: int) -> str:
    pools = ("()[]{},:='\"|~+-_ \n", "abcxyz0123456789", "é²٣\u2028\ufeff\x00\t\r\\#")
    return "".join(rng.choice(rng.choice(pools)) for _ in range(size))


_OPS = re.compile(
    r"sep_conv_\dx\d|dil_conv_\dx\d|max_pool_3x3|avg_pool_3x3|skip_connect|nor_conv_\dx\d|none"
    r"|separable_\dx\d_2"
)
_VALID_OPS = {
    "darts": ["sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "max_pool_3x3", "skip_connect"],
    "nb201": ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"],
    "tfslim": ["separable_3x3_2", "separable_7x7_2", "none", "max_pool_3x3", "1x7_7x1"],
}


def _benign(rng: random.Random, text: str, door: str) -> str:
    """A change that often keeps the input valid: another op, another small index, spaces."""
    kind = rng.choice(["op", "op", "index", "space"])
    if kind == "op" and (found := list(_OPS.finditer(text))):
        m = rng.choice(found)
        return text[: m.start()] + rng.choice(_VALID_OPS[door]) + text[m.end() :]
    digits = [m.start() for m in re.finditer(r"[0-9]", text)]
    if kind == "index" and digits:
        at = rng.choice(digits)
        return text[:at] + rng.choice("0011223") + text[at + 1 :]
    pos = rng.randint(0, len(text))
    return text[:pos] + rng.choice([" ", "\n", "  # note\n", "\t"]) + text[pos:]


_KINDS = ["benign", "delete", "insert", "token", "truncate", "dup", "digit", "splice", "repeat",
          "swap"]  # fmt: skip
_WEIGHTS = [40, 14, 10, 24, 5, 10, 16, 6, 3, 12]


def _mutate_once(rng: random.Random, text: str, seeds: list[str], door: str) -> str:
    pos = rng.randint(0, len(text))
    kind = rng.choices(_KINDS, weights=_WEIGHTS)[0]
    if kind == "benign":
        return _benign(rng, text, door)
    if kind == "delete":
        return text[:pos] + text[pos + rng.randint(1, 16) :]
    if kind == "insert":
        return text[:pos] + _random_text(rng, rng.randint(1, 8)) + text[pos:]
    if kind == "token":
        return text[:pos] + rng.choice(_TOKENS) + text[pos:]
    if kind == "truncate":
        return text[:pos]
    if kind == "dup":
        end = min(len(text), pos + rng.randint(1, 60))
        return text[:end] + text[pos:end] * rng.randint(1, 3) + text[end:]
    if kind == "digit":
        digits = [m.start() for m in re.finditer(r"[0-9]", text)] or [pos]
        at = rng.choice(digits)
        return text[:at] + rng.choice(_SPECIAL_NUMBERS) + text[at + 1 :]
    if kind == "splice":
        other = rng.choice(seeds)
        cut = rng.randint(0, len(other))
        return text[:pos] + other[cut:]
    if kind == "repeat":  # deep nesting, long runs, big inputs (rarely past the 1 MiB limit)
        piece = rng.choice(["[", "(", "{", "-", "Genotype(", "'a'", "(1,", " ", "|none~0|+"])
        return text[:pos] + piece * rng.choice([10, 33, 100, 1000, 30_000, 120_000]) + text[pos:]
    i, j = sorted(rng.sample(range(len(text) + 1), 2)) if len(text) > 1 else (0, 0)
    return text[:i] + text[i:j].swapcase().replace("'", '"') + text[j:]


def _mutated(rng: random.Random, seeds: list[str], door: str) -> str:
    text = rng.choice(seeds)
    if rng.random() < 0.35:  # mostly still valid: exercises the success path too
        for _ in range(rng.randint(1, 3)):
            text = _benign(rng, text, door)
        return text
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4, 6])):
        text = _mutate_once(rng, text, seeds, door)
    return text


# -- doors -----------------------------------------------------------------------------------


class _Attempt:
    """One input: ``run(self)`` sets ``self.text`` (the input, for span checks) and runs it."""

    def __init__(self, body: Callable[[_Attempt], None]) -> None:
        self.text = ""
        self.body = body

    def __call__(self) -> None:
        self.body(self)


def _import_door(door: str, rng: random.Random, seeds: list[str]) -> _Attempt:
    from nasgen.cli.foreign import check_imported
    from nasgen.dsl.foreign import import_darts, import_darts_file, import_nb201, import_tfslim
    from nasgen.errors import SourceText

    text = _mutated(rng, seeds, door)
    named = "DARTS = " in text  # the genotypes.py seed: choose by name, or an alias
    name = rng.choice(["DARTS", "V2", "V1", "V3"]) if named and rng.random() < 0.9 else None
    expression = rng.random() < 0.3

    def run(attempt: _Attempt) -> None:
        attempt.text = text
        source = SourceText("<fuzz>", text)
        if door == "darts":
            module = import_darts(source) if expression else import_darts_file(source, name)
        else:
            module = import_nb201(source) if door == "nb201" else import_tfslim(source)
        check_imported(module)

    return _Attempt(run)


def _roundtrip_door(rng: random.Random) -> _Attempt:
    from nasgen.cli.foreign import check_imported, print_foreign
    from nasgen.dsl.foreign import export_foreign, import_darts, import_nb201
    from nasgen.dsl.generate import DARTS_OPS, GenotypeSpace, random_genotype
    from nasgen.dsl.printer import print_module

    seed = rng.randrange(10**9)
    style = rng.choice(["darts", "darts", "nb201", "general", "mutated", "mutated"])
    ops = rng.choice([DARTS_OPS, (*DARTS_OPS, "sep_conv_7x7", "conv_1x1", "none")])
    space = GenotypeSpace(ops=ops, darts_form=True, blocks=(1, rng.choice([2, 5, 8])))
    fmt = "nb201" if style == "nb201" or (style == "mutated" and seed % 2) else "darts"

    def run(attempt: _Attempt) -> None:
        if style == "general":  # any genotype: exported when it has the form, else E122
            attempt.text = print_module(random_genotype(seed, nb201=seed % 3 == 0))
            print_foreign(rng.choice(["darts", "nb201"]), attempt.text)
            return
        module = random_genotype(seed, *(() if fmt == "nb201" else (space,)), nb201=fmt == "nb201")
        text, warnings = export_foreign(fmt, module)
        if style == "mutated":  # the other direction: an exported string, damaged, imported
            _import_door(fmt, rng, [text]).body(attempt)
            return
        attempt.text = text
        again = import_nb201(text) if fmt == "nb201" else import_darts(text)
        if again.cells != module.cells or export_foreign(fmt, again) != (text, []):
            raise AssertionError(f"round trip changed the cells of {fmt} seed {seed}")
        if not warnings:  # the format's own convention: must build as it did
            check_imported(again)

    return _Attempt(run)


def _case(door: str, seed: int, index: int, seeds: dict[str, list[str]]) -> _Attempt:
    rng = random.Random(f"{door}:{seed}:{index}")
    return _roundtrip_door(rng) if door == "roundtrip" else _import_door(door, rng, seeds[door])


# -- worker ----------------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init_worker(memory_mib: int) -> None:
    limit = memory_mib * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _on_alarm)
    sys.setrecursionlimit(1000)  # the default: a reader that needs more is a bug
    _STATE["seeds"] = _seeds()


def _classify(err: BaseException, text: str) -> str | None:
    """None when ``err`` is an acceptable ``NasgenError``; else what is wrong with it."""
    from nasgen.errors import NasgenError

    if not isinstance(err, NasgenError):
        return f"{type(err).__name__}: {str(err)[:300]}"
    try:
        rendered = str(err)
        rendered.encode("utf-8")  # printable: no lone surrogates
    except Exception as bad:
        return f"NasgenError {err.code} does not render: {type(bad).__name__}: {bad}"
    if not re.fullmatch(r"E\d{3}", err.code) or not rendered:
        return f"bad NasgenError rendering: {rendered[:300]!r}"
    if err.span is not None and err.span.path in ("<fuzz>", "<string>"):
        lines = text.count("\n") + text.count("\r") + 1
        if not 1 <= err.span.line <= lines:
            return f"span line {err.span.line} outside the input: {rendered[:300]!r}"
    return None


def _one(attempt: _Attempt, time_limit: float) -> tuple[str, str | None, float]:
    """(outcome, problem, seconds): outcome ok / nasgen_error / crash, an error code or why."""
    began = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, time_limit * 4)
    try:
        attempt()
        outcome, detail = "ok", None
    except _Slow:
        outcome, detail = "crash", f"over {time_limit * 4:.0f} s (stopped)"
    except BaseException as err:  # what the campaign is for
        problem = _classify(err, attempt.text)
        outcome, detail = ("crash", problem) if problem else ("nasgen_error", err.code)  # type: ignore[attr-defined]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.perf_counter() - began
    if outcome != "crash" and elapsed > time_limit:
        outcome, detail = "crash", f"took {elapsed:.2f} s (limit {time_limit} s)"
    return outcome, detail, elapsed


def run_chunk(door: str, seed: int, start: int, count: int, time_limit: float) -> dict[str, Any]:
    """Run inputs ``start .. start+count`` of ``door``; counts, error codes, crashes, timing."""
    counts: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    crashes: list[dict[str, Any]] = []
    slowest = 0.0
    for index in range(start, start + count):
        outcome, detail, elapsed = _one(_case(door, seed, index, _STATE["seeds"]), time_limit)
        counts[outcome] += 1
        slowest = max(slowest, elapsed)
        if outcome == "nasgen_error":
            codes[detail or "?"] += 1
        elif outcome == "crash":
            crashes.append({"door": door, "index": index, "problem": detail})
    return {"counts": dict(counts), "codes": dict(codes), "crashes": crashes, "slowest": slowest}


# -- driver ----------------------------------------------------------------------------------


def _total() -> dict[str, Any]:
    return {"inputs": 0, "ok": 0, "nasgen_error": 0, "crash": 0, "codes": Counter(),
            "crashes": [], "slowest_s": 0.0, "seconds": 0.0}  # fmt: skip


def _died(total: dict[str, Any], door: str, start: int, count: int) -> list[tuple[int, int]]:
    """A worker died (killed, segfault): halve its chunk until the one input is found."""
    if count > 1:
        return [(start, count // 2), (start + count // 2, count - count // 2)]
    total["crash"] += 1
    total["inputs"] += 1
    total["crashes"].append({"door": door, "index": start, "problem": "worker died"})
    return []


def _pass(
    args: argparse.Namespace, door: str, pending: list[tuple[int, int]], total: dict[str, Any]
) -> list[tuple[int, int]]:
    retry: list[tuple[int, int]] = []
    init = {"initializer": _init_worker, "initargs": (args.memory_mib,)}
    with ProcessPoolExecutor(args.jobs, **init) as pool:  # type: ignore[arg-type]
        futures = {
            pool.submit(run_chunk, door, args.seed, s, c, args.time_limit): (s, c)
            for s, c in pending
        }
        for future, (start, count) in futures.items():
            try:
                result = future.result()
            except BrokenProcessPool:
                retry += _died(total, door, start, count)
                continue
            total["inputs"] += count
            for key in ("ok", "nasgen_error", "crash"):
                total[key] += result["counts"].get(key, 0)
            total["codes"].update(result["codes"])
            total["crashes"] += result["crashes"]
            total["slowest_s"] = max(total["slowest_s"], result["slowest"])
            if args.progress:
                print(f"  {door}: {total['inputs']:,}/{args.n:,}", file=sys.stderr, flush=True)
    return retry


def _campaign(args: argparse.Namespace, doors: list[str]) -> dict[str, dict[str, Any]]:
    totals = {door: _total() for door in doors}
    for door in doors:
        began = time.perf_counter()
        pending = [(s, min(args.chunk, args.n - s)) for s in range(0, args.n, args.chunk)]
        while pending:
            pending = _pass(args, door, pending, totals[door])
        totals[door]["seconds"] = round(time.perf_counter() - began, 1)
    return totals


def _table(totals: dict[str, dict[str, Any]]) -> str:
    head = ("door", "inputs", "ok", "NasgenError", "crashes", "slowest", "time")
    rows = ["{:<10} {:>9} {:>9} {:>12} {:>8} {:>9} {:>8}".format(*head)]
    for door, t in totals.items():
        rows.append(
            f"{door:<10} {t['inputs']:>9,} {t['ok']:>9,} {t['nasgen_error']:>12,} {t['crash']:>8,} "
            f"{t['slowest_s']:>8.3f}s {t['seconds']:>7.0f}s"
        )
    for door, t in totals.items():
        top = ", ".join(f"{c} {k:,}" for c, k in Counter(t["codes"]).most_common(8))
        rows.append(f"  {door} codes: {top}")
        for crash in t["crashes"][:10]:
            rows.append(f"  CRASH {crash['door']} #{crash['index']}: {crash['problem']}")
    return "\n".join(rows)


def _replay(args: argparse.Namespace) -> int:
    _init_worker(args.memory_mib)
    attempt = _case(args.door[0], args.seed, args.replay, _STATE["seeds"])
    outcome, detail, elapsed = _one(attempt, args.time_limit)
    print(f"input: {attempt.text[:3000]!r}")
    print(f"{outcome} ({detail}) in {elapsed:.3f} s")
    if outcome == "crash":
        attempt()  # again, with its traceback
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="inputs per door (default 100,000)")
    ap.add_argument("--door", action="append", choices=DOORS, help="only these doors")
    ap.add_argument("--seed", type=int, default=0, help="campaign seed")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--chunk", type=int, default=2_000, help="inputs per worker task")
    ap.add_argument("--time-limit", type=float, default=2.0, help="seconds per input")
    ap.add_argument("--memory-mib", type=int, default=1024, help="RLIMIT_AS of a worker")
    ap.add_argument("--json", type=Path, help="write the totals here")
    ap.add_argument("--replay", type=int, help="rerun one input of --door and show it")
    ap.add_argument("--progress", action="store_true", help="report each finished chunk")
    args = ap.parse_args(argv)
    if args.replay is not None:
        if not args.door:
            ap.error("--replay needs --door")
        return _replay(args)
    totals = _campaign(args, args.door or list(DOORS))
    print(_table(totals))
    if args.json:
        out = {d: {**t, "codes": dict(t["codes"])} for d, t in totals.items()}
        args.json.write_text(json.dumps({"n": args.n, "seed": args.seed, "doors": out}, indent=1))
    return 1 if any(t["crash"] for t in totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
