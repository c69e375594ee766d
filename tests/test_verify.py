"""`nasgen verify`: the registry of published figures, its checks and its command."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasgen.cli import main
from nasgen.errors import NasgenError
from nasgen.verify import Check, Figure, load_registry, verify

FIGURES = load_registry()


@pytest.mark.parametrize("figure", FIGURES, ids=lambda f: f"{f.model}-{f.metric}-{f.skeleton}")
def test_every_published_figure_holds(figure: Figure) -> None:
    (check,) = verify([figure])
    assert not check.drift, (check.nasgen, check.verdict)


def test_registry_covers_every_reference_section_7_model() -> None:
    genotypes = {f.genotype for f in FIGURES}
    assert {
        "nasnet_a",
        "nasnet_a_darts",
        "amoebanet_darts",
        "pnasnet_5",
        "amoebanet_a",
        "enas_micro",
        "darts_v1",
        "darts_v2",
        "pc_darts",
        "p_darts",
    } <= genotypes


def test_unreproducible_figures_are_reported_not_hidden() -> None:
    flagged = {(f.model, f.published) for f in FIGURES if f.status == "not_reproducible"}
    assert ("NASNet-A CIFAR-10", "27.6M") in flagged
    assert ("ENAS micro", "4.6M") in flagged
    checks = verify(f for f in FIGURES if f.status == "not_reproducible")
    assert all(c.verdict == "published, not reproducible" for c in checks)
    assert all(not c.rounds_ok for c in checks)  # they really do not match


def _figure(**kw: object) -> Figure:
    base: dict[str, object] = {
        "model": "m",
        "genotype": "darts_v2",
        "skeleton": "s",
        "metric": "params",
        "published": "3.3M",
        "convention": "c",
        "source": "src",
        "status": "reproduced",
    }
    base.update(kw)
    return Figure(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("printed", "value", "half"),
    [
        ("5.3M", Decimal(5_300_000), Decimal(50_000)),
        ("3.349M", Decimal(3_349_000), Decimal(500)),
        ("5,326,716", Decimal(5_326_716), Decimal("0.5")),
        ("23.8B", Decimal(23_800_000_000), Decimal(50_000_000)),
        ("564M", Decimal(564_000_000), Decimal(500_000)),
    ],
)
def test_printed_figures_parse_with_their_precision(
    printed: str, value: Decimal, half: Decimal
) -> None:
    fig = _figure(published=printed)
    assert fig.value == value
    assert fig.half_unit == half


def test_a_changed_exact_count_is_drift_whatever_the_status() -> None:
    for status in ("reproduced", "not_reproducible", "other_convention"):
        check = Check(_figure(exact=3_349_342, status=status), 3_349_343)
        assert check.drift
        assert check.verdict.startswith("DRIFT")


def test_rounding_and_tolerance() -> None:
    assert Check(_figure(published="3.3M"), 3_349_999).rounds_ok
    assert not Check(_figure(published="3.3M"), 3_350_001).rounds_ok
    assert Check(_figure(published="588M", tolerance_pct=0.2), 587_294_280).rounds_ok
    assert not Check(_figure(published="588M"), 587_294_280).rounds_ok


def test_cli_table_and_exit_code() -> None:
    result = CliRunner().invoke(main, ["verify", "--only", "enas"])
    assert result.exit_code == 0, result.output
    assert "published, not reproducible" in result.output
    assert "3,894,372" in result.output


def test_cli_exits_1_on_drift(tmp_path: Path) -> None:
    registry = tmp_path / "published.toml"
    registry.write_text(
        "[[figure]]\n"
        'model = "DARTS_V2 CIFAR-10"\ngenotype = "darts_v2"\nskeleton = "20 cells"\n'
        'metric = "params"\npublished = "3.3M"\nexact = 3_000_000\n'
        'convention = "trainable"\nsource = "test"\nstatus = "reproduced"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["verify", "--registry", str(registry)])
    assert result.exit_code == 1
    assert "DRIFT: exact count is 3,000,000" in result.output
    assert "1 drifted" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[figure]\n", "cannot read"),
        ('[[figure]]\nmodel = "x"\n', "missing"),
        ("[[figure]]\nmodel = 3\n", "model must be a str"),
        ('[[figure]]\ncolour = "x"\n', "unknown field 'colour'"),
    ],
)
def test_broken_registry_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    registry = tmp_path / "published.toml"
    registry.write_text(text, encoding="utf-8")
    with pytest.raises(NasgenError, match=message):
        load_registry(registry)
    result = CliRunner().invoke(main, ["verify", "--registry", str(registry)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_an_oversized_registry_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    from nasgen.verify import MAX_REGISTRY_BYTES, load_registry

    big = tmp_path / "big.toml"
    with big.open("wb") as fh:
        fh.write(b"# padding\n" * (MAX_REGISTRY_BYTES // 10 + 10))
    with pytest.raises(NasgenError) as err:
        load_registry(big)
    assert err.value.code == "E600" and "1,048,576 bytes" in str(err.value)
