"""Fuzz ``nasgen.load`` with mutated checkpoints: each input must load or raise ``NasgenError``.

A tiny checkpoint (darts_v2 N=1 F=4, aux head included) is mutated in memory: metadata values
and types (``nasgen.options`` keys set to nulls, lists, huge or out-of-range numbers, other
valid values such as F=400), the genotype text (ops swapped, lines dropped, bytes inserted),
tensor names, shapes (same count and other counts), dtypes and offsets, truncation, random
bytes in the header and its length prefix, garbage appended, random files. Each input is
written to tmpfs and loaded by a worker process running under ``RLIMIT_AS`` (1.5 GiB), so an
input that makes nasgen allocate what a checkpoint of this size cannot need is a crash too.

A *crash* is any exception other than ``NasgenError``, a ``NasgenError`` whose message cannot
be printed as UTF-8, or a worker killed while loading (a signal, the memory limit). Crashes are
listed with their input number, mutation and error; ``--replay I`` reruns one input in-process.

Usage::

    python bench/fuzz_checkpoint.py                     # 100,000 inputs, 2 workers
    python bench/fuzz_checkpoint.py --n 2000 --json fuzz.json
    python bench/fuzz_checkpoint.py --replay 1234 --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

AS_LIMIT = int(1.5 * 2**30)
CHUNK = 2500
_HERE = Path(__file__).resolve()

# ---------------------------------------------------------------------------------------------
# The base checkpoint and its parts


def base_checkpoint() -> bytes:
    """The bytes of the tiny checkpoint every mutation starts from."""
    import nasgen

    model = nasgen.compile("darts_v2", N=1, F=4, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = nasgen.save(model, Path(tmp) / "base.safetensors")
        return path.read_bytes()


def split(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Header object and tensor data of a well-formed file."""
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def join(header: dict[str, Any], body: bytes) -> bytes:
    """A file from a header object (any JSON value) and data."""
    text = json.dumps(header).encode("utf-8", "surrogatepass")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + body


# ---------------------------------------------------------------------------------------------
# Mutations of the parsed header, in place (returning new data, or None to keep it), then of
# the raw bytes.

_ODD_VALUES: list[Any] = [
    None, [], [1], {}, {"a": 1}, "", "x", "none", "\u00e9\u4e2d", "\ud800", -1, 0, 1, 2, 3, 7,
    400, 2000, 65536, 65537, 2**31, 2**63, 2**64 + 1, 10**30, -(10**30), 0.5, 1.5, -0.0,
    1e-300, 1e300, float("inf"), float("-inf"), float("nan"), True, False, "true", "3",
    "insert_cell", "resnet_block", "nasnet_imagenet", "darts_imagenet", "gap", "normal",
    "reduction", "darts_cifar", "nasnet",
]  # fmt: skip
_OPTION_TEXTS = [
    "", "[1]", "null", "1", '"F"', "{", "}", "{}", '{"F": }', "NaN", "1e999", "[" * 5000,
    "{" * 100 + "}" * 100, '{"F": 1' + "0" * 5000 + "}", '{"\\ud800": 1}', '{"F": "\\udfff"}',
    '{"F": 4, "F": 5}', "\x00", '{"classes": null}', '{"N": 6, "F": 400}',
]  # fmt: skip
_OPS = [
    "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5",
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "none", "conv_1x1", "conv_3x3",
    "conv_7x1_1x7", "identity", "zero",
]  # fmt: skip
_DTYPES = ["F32", "F16", "BF16", "F64", "I32", "U32", "I64", "I8", "U8", "BOOL", "F8_E4M3",
           "Q4", "", 32, None]  # fmt: skip


def _options(header: dict[str, Any]) -> dict[str, Any]:
    return json.loads(header["__metadata__"]["nasgen.options"])


def _set_options(header: dict[str, Any], options: Any) -> None:
    header["__metadata__"]["nasgen.options"] = json.dumps(options)


def m_option_value(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    options = _options(header)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        key = rng.choice([*options, "variant", "foo", "", "N ", "Classes"])
        options[key] = rng.choice(_ODD_VALUES)
    _set_options(header, options)


def m_option_sizes(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    options = _options(header)
    options["F"] = rng.choice((1, 2, 3, 5, 8, 16, 400, 2000, 65536))
    options["N"] = rng.choice((1, 2, 6, 64, 256))
    if rng.random() < 0.3:
        options["input_size"] = rng.choice((1, 2, 8, 224, 8192))
    _set_options(header, options)


def m_option_text(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    header["__metadata__"]["nasgen.options"] = rng.choice(_OPTION_TEXTS)


def m_option_drop(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    options = _options(header)
    for key in rng.sample(sorted(options), rng.randint(1, len(options))):
        del options[key]
    _set_options(header, options)


def m_source(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    text: str = header["__metadata__"]["nasgen.source"]
    lines = text.split("\n")
    what = rng.randrange(6)
    if what == 0:
        old = rng.choice([op for op in _OPS if op in text] or _OPS)
        text = text.replace(old, rng.choice(_OPS), rng.choice((1, -1)))
    elif what == 1 and len(lines) > 1:
        del lines[rng.randrange(len(lines))]
        text = "\n".join(lines)
    elif what == 2:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        text = "\n".join(lines)
    elif what == 3:
        i = rng.randrange(len(text) + 1)
        text = (
            text[:i] + rng.choice(["{", "}", "(", "=", "\x00", "\ud800", "#", "9" * 30]) + text[i:]
        )
    elif what == 4:
        text = rng.choice(["", " ", "nasgen 1\n", "nasgen 99\n", "x" * (2**20 + 1)])
    else:
        i = rng.randrange(len(text))
        text = text[:i] + text[i + rng.randint(1, 40) :]
    header["__metadata__"]["nasgen.source"] = text


def m_metadata(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    meta = header["__metadata__"]
    what = rng.randrange(5)
    if what == 0:
        del meta[rng.choice(sorted(meta))]
    elif what == 1:
        meta[rng.choice(sorted(meta))] = rng.choice([1, None, [], {"a": "b"}, True])
    elif what == 2:
        header["__metadata__"] = rng.choice([None, [], "x", 1, {}])
    elif what == 3:
        del header["__metadata__"]
    else:
        meta[rng.choice(["nasgen.extra", "", "\u00e9"])] = "x" * rng.choice((0, 10, 10**5))


def _tensor_names(header: dict[str, Any]) -> list[str]:
    return sorted(k for k in header if k != "__metadata__")


def m_tensor_name(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    names = _tensor_names(header)
    a, b = rng.sample(names, 2)
    if rng.random() < 0.5:
        header[a], header[b] = header[b], header[a]  # swap two entries' names
    else:
        header[rng.choice([a + "x", a.upper(), "", "\u00e9", a.replace(".", "/"), "\x1b[31m"])] = (
            header.pop(a)
        )


def _numel(shape: list[int]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def m_tensor_shape(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    entry = header[rng.choice(_tensor_names(header))]
    shape = list(entry["shape"])
    what = rng.randrange(5)
    if what == 0 and len(shape) > 1:
        rng.shuffle(shape)  # same count, other shape
    elif what == 1:
        shape = [_numel(shape)]  # flattened
    elif what == 2 and shape:
        i = rng.randrange(len(shape))
        shape[i] = shape[i] + rng.choice((-1, 1, 10**12))
    elif what == 3:
        shape = [*shape, 1]
    else:
        shape = rng.choice([[-1], [1.5], [True], "4", None, [2**64], []])
    entry["shape"] = shape


def m_tensor_dtype(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    for name in rng.sample(_tensor_names(header), rng.choice((1, 1, 3))):
        header[name]["dtype"] = rng.choice(_DTYPES)


def m_tensor_offsets(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    entry = header[rng.choice(_tensor_names(header))]
    begin, end = entry["data_offsets"]
    entry["data_offsets"] = rng.choice([
        [end, begin], [begin, end + 4], [begin + 4, end + 4], [0, end - begin], [-4, end],
        [begin], [begin, end, 0], None, [begin, 2**70], [str(begin), end],
    ])  # fmt: skip


def m_tensor_table(header: dict[str, Any], body: bytes, rng: random.Random) -> bytes | None:
    names = _tensor_names(header)
    what = rng.randrange(4)
    if what == 0:
        del header[rng.choice(names)]
    elif what == 1:
        header["extra.weight"] = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    elif what == 2:
        header[rng.choice(names)] = rng.choice([None, [], "x", 1, {}])
    else:
        for name in names:
            del header[name]
        return b""
    return None


def m_truncate(data: bytes, rng: random.Random) -> bytes:
    n = int.from_bytes(data[:8], "little")
    cut = rng.choice([rng.randrange(9), rng.randrange(8 + n), rng.randrange(len(data))])
    return data[:cut]


def m_header_bytes(data: bytes, rng: random.Random) -> bytes:
    n = int.from_bytes(data[:8], "little")
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 16))):
        out[rng.randrange(8 + n)] = rng.randrange(256)
    return bytes(out)


def m_length(data: bytes, rng: random.Random) -> bytes:
    n = int.from_bytes(data[:8], "little")
    value = rng.choice([0, 1, n - 1, n + 1, n + 8, len(data), 10**8, 2**63, 2**64 - 1])
    return value.to_bytes(8, "little") + data[8:]


def m_append(data: bytes, rng: random.Random) -> bytes:
    return data + rng.randbytes(rng.choice((1, 4, 100)))


def m_random(data: bytes, rng: random.Random) -> bytes:
    head = rng.choice([b"", b"{", len(data).to_bytes(8, "little"), (40).to_bytes(8, "little")])
    return head + rng.randbytes(rng.choice((0, 1, 7, 8, 100, 4096)))


_STRUCTURED: dict[str, Callable[[dict[str, Any], bytes, random.Random], bytes | None]] = {
    "option-value": m_option_value,
    "option-sizes": m_option_sizes,
    "option-text": m_option_text,
    "option-drop": m_option_drop,
    "source": m_source,
    "metadata": m_metadata,
    "tensor-name": m_tensor_name,
    "tensor-shape": m_tensor_shape,
    "tensor-dtype": m_tensor_dtype,
    "tensor-offsets": m_tensor_offsets,
    "tensor-table": m_tensor_table,
}
_RAW: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "truncate": m_truncate,
    "header-bytes": m_header_bytes,
    "length": m_length,
    "append": m_append,
    "random": m_random,
}
KINDS = [*_STRUCTURED, *_RAW]


def mutate(base: bytes, seed: int, index: int) -> tuple[str, bytes]:
    """Input ``index`` of campaign ``seed``: its mutation names and its bytes (deterministic)."""
    rng = random.Random(seed * 1_000_003 + index)
    data, applied = base, []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.choice(KINDS)
        try:
            if kind in _STRUCTURED:
                header, body = split(data)
                new_body = _STRUCTURED[kind](header, body, rng)
                data = join(header, body if new_body is None else new_body)
            else:
                data = _RAW[kind](data, rng)
        except Exception:  # an earlier mutation broke what this one edits: skip it
            continue
        applied.append(kind)
    return "+".join(applied) or "none", data


# ---------------------------------------------------------------------------------------------
# Running inputs


def classify(path: Path) -> tuple[str, str]:
    """``("ok", "")``, ``("error", code)`` or ``("crash", what)`` for loading ``path``."""
    import nasgen
    from nasgen.errors import NasgenError

    try:
        nasgen.load(path)
    except NasgenError as err:
        try:
            str(err).encode("utf-8")
        except UnicodeError:
            return "crash", f"unprintable {err.code} message"
        return "error", err.code
    except Exception as err:  # anything else is a bug
        tb = traceback.extract_tb(err.__traceback__)[-1]
        return "crash", f"{type(err).__name__}: {str(err)[:200]} ({tb.filename}:{tb.lineno})"
    return "ok", ""


def run_worker(seed: int, start: int, count: int, out: Path) -> None:
    """Run inputs [start, start + count); one JSON line per input to ``out`` (flushed)."""
    base = base_checkpoint()
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="nasgen-fuzz-", dir=shm) as tmp, out.open("a") as fh:
        path = Path(tmp) / "input.safetensors"
        for i in range(start, start + count):
            kind, data = mutate(base, seed, i)
            fh.write(json.dumps({"i": i, "kind": kind, "started": True}) + "\n")
            fh.flush()
            path.write_bytes(data)
            status, what = classify(path)
            fh.write(json.dumps({"i": i, "kind": kind, "status": status, "what": what}) + "\n")
            fh.flush()


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def _run_chunk(seed: int, start: int, count: int, folder: Path) -> list[dict[str, Any]]:
    """Results of one chunk; a worker that dies counts its input as a crash and resumes."""
    results: dict[int, dict[str, Any]] = {}
    todo_start, end = start, start + count
    while todo_start < end:
        out = folder / f"chunk-{start}-{todo_start}.jsonl"
        cmd = [sys.executable, str(_HERE), "--worker", "--seed", str(seed), "--out", str(out),
               "--start", str(todo_start), "--count", str(end - todo_start)]  # fmt: skip
        proc = subprocess.run(cmd, preexec_fn=_limit, capture_output=True, text=True)
        started: dict[str, Any] | None = None
        for line in out.read_text().splitlines() if out.exists() else []:
            rec = json.loads(line)
            if rec.get("started"):
                started = rec
            else:
                results[rec["i"]] = rec
                started = None
        if proc.returncode == 0:
            break
        if started is None:  # died before its first input: nothing to blame
            raise RuntimeError(f"worker failed at start: {proc.stderr[-2000:]}")
        results[started["i"]] = {
            "i": started["i"], "kind": started["kind"], "status": "crash",
            "what": f"worker died (exit {proc.returncode}): {proc.stderr.strip()[-300:]}",
        }  # fmt: skip
        todo_start = started["i"] + 1
    return [results[i] for i in sorted(results)]


def campaign(n: int, seed: int, workers: int) -> dict[str, Any]:
    """Run ``n`` inputs on ``workers`` processes; the summary as a JSON-able dict."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nasgen-fuzz-") as tmp:
        chunks = [(s, min(CHUNK, n - s)) for s in range(0, n, CHUNK)]
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(lambda c: _run_chunk(seed, c[0], c[1], Path(tmp)), chunks))
    records = [r for part in parts for r in part]
    status = Counter(r["status"] for r in records)
    codes = Counter(r["what"] for r in records if r["status"] == "error")
    kinds: dict[str, Counter[str]] = {}
    for r in records:
        for kind in r["kind"].split("+"):
            kinds.setdefault(kind, Counter())[r["status"]] += 1
    crashes = [r for r in records if r["status"] == "crash"]
    return {
        "inputs": len(records),
        "ok": status["ok"],
        "nasgen_error": status["error"],
        "crashes": status["crash"],
        "seconds": round(time.perf_counter() - t0, 1),
        "seed": seed,
        "workers": workers,
        "rlimit_as_bytes": AS_LIMIT,
        "codes": dict(sorted(codes.items())),
        "kinds": {k: dict(v) for k, v in sorted(kinds.items())},
        "crash_examples": crashes[:50],
    }


def print_table(summary: dict[str, Any]) -> None:
    print(f"{'inputs':>8} {'ok':>8} {'NasgenError':>12} {'crashes':>8}   time")
    print(
        f"{summary['inputs']:>8,} {summary['ok']:>8,} {summary['nasgen_error']:>12,} "
        f"{summary['crashes']:>8,}   {summary['seconds']:.0f} s"
    )
    print("\nerror codes: " + ", ".join(f"{c} {k:,}" for c, k in summary["codes"].items()))
    print(f"\n{'mutation':<16} {'ok':>7} {'error':>7} {'crash':>6}")
    for kind, c in summary["kinds"].items():
        print(f"{kind:<16} {c.get('ok', 0):>7,} {c.get('error', 0):>7,} {c.get('crash', 0):>6,}")
    for r in summary["crash_examples"]:
        print(f"CRASH input {r['i']} ({r['kind']}): {r['what']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of inputs")
    parser.add_argument("--seed", type=int, default=0, help="campaign seed")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--replay", type=int, help="rerun one input here, with its traceback")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.seed, args.start, args.count, args.out)
        return
    if args.replay is not None:
        import nasgen

        kind, data = mutate(base_checkpoint(), args.seed, args.replay)
        path = Path(tempfile.mkdtemp()) / "replay.safetensors"
        path.write_bytes(data)
        print(f"input {args.replay}: {kind}, {len(data)} bytes, {path}")
        nasgen.load(path)
        print("loaded")
        return
    summary = campaign(args.n, args.seed, args.workers)
    print_table(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
