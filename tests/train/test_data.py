"""Training data: the embedded digits, the CIFAR and folder readers, splits and batches."""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from nasgen.training import data_folder
from nasgen.training.data import (
    Augment,
    DataError,
    DataSet,
    batches,
    load_data,
    split_data,
)
from nasgen.training.data_builtin import DIGITS_PATH

DIGITS_SHA256 = "bd55ad3b457140f7e825aff00e9a57673a06eeb3d6574a3059b81aac3a82cffc"
# scikit-learn's load_digits().images[0] (label 0), values 0..16.
FIRST_DIGIT = [
    [0, 0, 5, 13, 9, 1, 0, 0],
    [0, 0, 13, 15, 10, 15, 5, 0],
    [0, 3, 15, 2, 0, 11, 8, 0],
    [0, 4, 12, 0, 0, 8, 8, 0],
    [0, 5, 8, 0, 0, 9, 8, 0],
    [0, 4, 11, 0, 1, 12, 7, 0],
    [0, 2, 14, 5, 10, 12, 0, 0],
    [0, 0, 6, 13, 10, 0, 0, 0],
]


def _records(data: DataSet) -> Counter[bytes]:
    rows = torch.cat([data.labels[:, None].to(torch.uint8), data.images.flatten(1)], dim=1)
    return Counter(bytes(row.tolist()) for row in rows)


def _dataset(images: torch.Tensor, mean: float = 0.0, std: float = 1.0) -> DataSet:
    n, c = images.shape[:2]
    return DataSet(
        name="test",
        images=images,
        labels=torch.arange(n),
        classes=n,
        mean=(mean,) * c,
        std=(std,) * c,
        synthetic=True,
        source="synthetic: test",
    )


# --- digits ---------------------------------------------------------------------------------


def test_digits_file_is_the_documented_conversion() -> None:
    raw = gzip.decompress(DIGITS_PATH.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == DIGITS_SHA256
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(1797, 65)
    assert rows[0, 0] == 0
    expected = np.round(np.array(FIRST_DIGIT) * 255 / 16).astype(np.uint8)
    assert (rows[0, 1:].reshape(8, 8) == expected).all()
    allowed = set(np.round(np.arange(17) * 255 / 16).astype(int).tolist())
    assert set(np.unique(rows[:, 1:]).tolist()) <= allowed
    assert np.bincount(rows[:, 0]).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_train_and_test_partition_the_1797_images() -> None:
    train, test = load_data("digits"), load_data("digits", "test")
    assert (len(train), len(test)) == (1438, 359)
    raw = gzip.decompress(DIGITS_PATH.read_bytes())
    every = Counter(raw[i : i + 65] for i in range(0, len(raw), 65))
    assert _records(train) + _records(test) == every  # disjoint and complete, as multisets
    for part in (train, test):
        assert part.images.shape[1:] == (1, 8, 8) and part.images.dtype == torch.uint8
        assert part.labels.dtype == torch.int64
        assert sorted(part.labels.unique().tolist()) == list(range(10))
        assert (part.name, part.classes, part.channels, part.size) == ("digits", 10, 1, 8)
        assert not part.synthetic and "Alpaydin" in part.source
    assert test.mean == train.mean and test.std == train.std
    assert 0.2 < train.mean[0] < 0.4 and 0.3 < train.std[0] < 0.45


def test_digits_are_deterministic() -> None:
    a, b = load_data("digits", "test"), load_data("digits", "test")
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


# --- CIFAR binary readers -------------------------------------------------------------------


def _write_records(path: Path, labels: list[list[int]], seed: int) -> np.ndarray:
    pixels = np.random.default_rng(seed).integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    rows = np.concatenate([np.array(labels, dtype=np.uint8), pixels], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rows.tobytes())
    return pixels


def _cifar10(root: Path) -> tuple[np.ndarray, list[int], np.ndarray, list[int]]:
    folder = root / "cifar-10-batches-bin"
    train_pixels, train_labels = [], []
    for i in range(1, 6):
        labels = [(3 * i + j) % 10 for j in range(4)]
        train_pixels.append(
            _write_records(folder / f"data_batch_{i}.bin", [[x] for x in labels], i)
        )
        train_labels += labels
    test_labels = [j % 10 for j in range(20)]
    test_pixels = _write_records(folder / "test_batch.bin", [[x] for x in test_labels], 9)
    return np.concatenate(train_pixels), train_labels, test_pixels, test_labels


@pytest.mark.parametrize("below", [False, True])
def test_cifar10_decodes_labels_and_chw_pixels_exactly(tmp_path: Path, below: bool) -> None:
    train_pixels, train_labels, test_pixels, test_labels = _cifar10(tmp_path)
    where = tmp_path / "cifar-10-batches-bin" if below else tmp_path
    train, test = load_data(f"cifar10:{where}"), load_data(f"cifar10:{where}", "test")
    assert train.images.shape == (20, 3, 32, 32) and len(test) == 20
    assert train.labels.tolist() == train_labels and test.labels.tolist() == test_labels
    assert np.array_equal(train.images.reshape(20, 3072).numpy(), train_pixels)
    assert np.array_equal(test.images.reshape(20, 3072).numpy(), test_pixels)
    # byte 1 + c*1024 + y*32 + x of record 7 is pixel (c, y, x): red plane first, rows first
    assert int(train.images[7, 2, 5, 31]) == int(train_pixels[7, 2 * 1024 + 5 * 32 + 31])
    assert train.classes == 10 and train.mean[0] == pytest.approx(0.49139968)
    assert not train.synthetic and "CIFAR-10" in train.source


def test_cifar100_uses_the_fine_label(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-binary"
    labels = [[j % 20, (7 * j) % 100] for j in range(20)]
    pixels = _write_records(folder / "train.bin", labels, 1)
    _write_records(folder / "test.bin", labels[:3], 2)
    train = load_data(f"cifar100:{tmp_path}")
    assert train.labels.tolist() == [fine for _, fine in labels] and train.classes == 100
    assert np.array_equal(train.images.reshape(20, 3072).numpy(), pixels)
    assert len(load_data(f"cifar100:{folder}", "test")) == 3


def test_a_truncated_cifar_file_is_e903_naming_it(tmp_path: Path) -> None:
    _cifar10(tmp_path)
    batch = tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin"
    batch.write_bytes(batch.read_bytes()[:-100])
    with pytest.raises(DataError) as info:
        load_data(f"cifar10:{tmp_path}")
    assert info.value.code == "E903" and "data_batch_3.bin" in str(info.value)


def test_cifar_bad_label_and_missing_files(tmp_path: Path) -> None:
    _cifar10(tmp_path)
    _write_records(tmp_path / "cifar-10-batches-bin" / "test_batch.bin", [[10]], 0)
    with pytest.raises(DataError) as bad:
        load_data(f"cifar10:{tmp_path}", "test")
    assert bad.value.code == "E903" and "record 0" in bad.value.message
    (tmp_path / "cifar-10-batches-bin" / "data_batch_5.bin").unlink()
    with pytest.raises(DataError) as missing:
        load_data(f"cifar10:{tmp_path}")
    assert missing.value.code == "E902" and "data_batch_5.bin" in missing.value.message
    with pytest.raises(DataError) as nowhere:
        load_data(f"cifar100:{tmp_path / 'nope'}")
    assert nowhere.value.code == "E902"


# --- image folders --------------------------------------------------------------------------


def _png(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (8, 8)) -> None:
    image = pytest.importorskip("PIL.Image")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.new("RGB", size, rgb).save(path)


def test_folder_reads_sorted_classes_and_exact_colours(tmp_path: Path) -> None:
    _png(tmp_path / "dog" / "a.png", (0, 0, 255))
    _png(tmp_path / "cat" / "b.png", (255, 0, 0), (16, 16))
    _png(tmp_path / "cat" / "a.png", (10, 20, 30))
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    data = load_data(f"folder:{tmp_path}:4")
    assert data.images.shape == (3, 3, 4, 4) and data.name == f"folder:{tmp_path}:4"
    assert data.labels.tolist() == [0, 0, 1] and data.classes == 2  # cat < dog; a.png < b.png
    assert data.images[0, :, 0, 0].tolist() == [10, 20, 30]
    assert data.images[1].flatten(1).unique(dim=1).flatten().tolist() == [255, 0, 0]
    assert data.images[2, 2].unique().tolist() == [255] and not data.synthetic
    assert data.mean[2] == pytest.approx((30 + 255) / 3 / 255, abs=1e-9)
    assert load_data(f"folder:{tmp_path}").size == 32


def test_folder_centre_crops_before_resizing(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    wide = image.new("RGB", (12, 8), (0, 0, 255))
    for x in (0, 1, 10, 11):  # a red border left and right: outside the centre square
        for y in range(8):
            wide.putpixel((x, y), (255, 0, 0))
    (tmp_path / "only").mkdir()
    wide.save(tmp_path / "only" / "w.png")
    data = load_data(f"folder:{tmp_path}:8")
    assert data.images[0, 0].unique().tolist() == [0] and data.images[0, 2].unique().tolist() == [
        255
    ]


def test_folder_splits_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for split, n in (("train", 3), ("test", 1)):
        for k in range(n):
            _png(tmp_path / "s" / split / "x" / f"{k}.png", (k, k, k))
            _png(tmp_path / "s" / split / "y" / f"{k}.png", (k, k, k))
    assert len(load_data(f"folder:{tmp_path / 's'}:8")) == 6
    assert len(load_data(f"folder:{tmp_path / 's'}:8", "test")) == 2
    flat = tmp_path / "s" / "train"
    codes = {}
    for spec, split in ((f"folder:{flat}", "test"), (f"folder:{tmp_path / 'no'}", "train")):
        with pytest.raises(DataError) as info:
            load_data(spec, split)
        codes[spec] = info.value.code
    assert set(codes.values()) == {"E902"}
    monkeypatch.setattr(data_folder, "MAX_FILES", 5)
    with pytest.raises(DataError) as many:
        load_data(f"folder:{flat}")
    assert many.value.code == "E904"
    monkeypatch.undo()
    (flat / "x" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError) as broken:
        load_data(f"folder:{flat}")
    assert broken.value.code == "E903" and "broken.png" in broken.value.message


# --- specs and errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "split", "code", "text"),
    [
        ("cifar1O:/data", "train", "E901", "did you mean 'cifar10'?"),
        ("digit", "train", "E901", "did you mean 'digits'?"),
        ("imagenet:/x", "train", "E901", "synthetic:N"),
        ("synthetic:many", "train", "E901", "synthetic"),
        ("cifar10", "train", "E901", "cifar10:DIR"),
        ("digits:extra", "train", "E901", "no argument"),
        ("synthetic:0", "train", "E904", "synthetic"),
        ("digits", "valid", "E905", "'train' or 'test'"),
    ],
)
def test_bad_specs_are_coded(spec: str, split: str, code: str, text: str) -> None:
    with pytest.raises(DataError) as info:
        load_data(spec, split)
    assert info.value.code == code and text in str(info.value)


def test_synthetic_is_labelled_and_deterministic() -> None:
    a, b = load_data("synthetic:50"), load_data("synthetic:50")
    assert a.synthetic and "synthetic" in a.name and "synthetic" in a.source
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.images.shape == (50, 3, 32, 32) and a.labels.bincount().tolist() == [5] * 10
    assert not torch.equal(load_data("synthetic:50", "test").images, a.images)


def test_a_non_square_data_set_has_no_size() -> None:
    with pytest.raises(DataError) as info:
        _ = _dataset(torch.zeros((2, 1, 4, 6), dtype=torch.uint8)).size
    assert info.value.code == "E903"


# --- split_data -----------------------------------------------------------------------------


def test_split_is_seeded_stratified_and_complete() -> None:
    data = load_data("synthetic:200")
    train, valid = split_data(data, 0.25, seed=3)
    again, valid_again = split_data(data, 0.25, seed=3)
    assert torch.equal(train.images, again.images) and torch.equal(valid.labels, valid_again.labels)
    assert valid.labels.bincount().tolist() == [5] * 10 and len(train) == 150
    assert _records(train) + _records(valid) == _records(data)
    assert train.mean == data.mean and valid.std == data.std
    other, _ = split_data(data, 0.25, seed=4)
    assert not torch.equal(other.images, train.images)
    assert len(split_data(data, 0.0, seed=0)[1]) == 0
    for fraction in (1.0, -0.1):
        with pytest.raises(DataError, match="valid fraction") as info:
            split_data(data, fraction, seed=0)
        assert info.value.code == "E905"


# --- batches --------------------------------------------------------------------------------


def test_batches_shapes_order_and_normalisation() -> None:
    data = load_data("synthetic:100")
    got = list(batches(data, 32, generator=None, augment=None))
    assert [len(y) for _, y in got] == [32, 32, 32, 4]
    x = torch.cat([b for b, _ in got])
    assert x.dtype == torch.float32 and x.shape == (100, 3, 32, 32)
    assert torch.equal(torch.cat([y for _, y in got]), data.labels)
    assert x.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert (x.std(dim=(0, 2, 3), correction=0) - 1).abs().max() < 1e-4
    shuffled = list(batches(data, 32, generator=torch.Generator().manual_seed(0), augment=None))
    assert len(shuffled) == 4 and not torch.equal(shuffled[0][1], got[0][1])
    dropped = batches(data, 32, generator=None, augment=None, drop_last=True)
    assert [len(y) for _, y in dropped] == [32, 32, 32]
    with pytest.raises(DataError):
        next(batches(data, 0, generator=None, augment=None))


def test_one_generator_state_gives_identical_augmented_batches() -> None:
    data = load_data("synthetic:64")
    augment = Augment(pad=4, flip=True, cutout=16)
    g = torch.Generator().manual_seed(7)
    state = g.get_state()
    first = list(batches(data, 24, generator=g, augment=augment))
    g.set_state(state)
    second = list(batches(data, 24, generator=g, augment=augment))
    for (xa, ya), (xb, yb) in zip(first, second, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    plain = next(batches(data, 24, generator=torch.Generator().manual_seed(7), augment=None))
    assert first[0][0].shape == plain[0].shape and not torch.equal(first[0][0], plain[0])
    assert torch.equal(first[0][1], plain[1])  # augmentation does not change the order


def test_crop_is_a_shift_of_the_zero_padded_image() -> None:
    images = torch.randint(1, 256, (16, 2, 6, 6), dtype=torch.uint8)
    data = _dataset(images, std=1 / 255)  # normalised value == pixel value
    x, y = next(batches(data, 16, generator=torch.Generator().manual_seed(1), augment=Augment(2)))
    padded = torch.nn.functional.pad(images.to(torch.float32), (2, 2, 2, 2))
    shifts = set()
    for out, i in zip(x, y.tolist(), strict=True):
        found = [
            (a, b)
            for a in range(5)
            for b in range(5)
            if torch.equal(out, padded[i, :, a : a + 6, b : b + 6])
        ]
        assert found
        shifts.add(found[0])
    assert len(shifts) > 3


def test_flip_mirrors_some_images_and_keeps_others() -> None:
    images = torch.randint(0, 256, (64, 3, 5, 5), dtype=torch.uint8)
    data = _dataset(images, std=1 / 255)
    x, y = next(
        batches(data, 64, generator=torch.Generator().manual_seed(2), augment=Augment(flip=True))
    )
    kept = mirrored = 0
    for out, i in zip(x, y.tolist(), strict=True):
        original = images[i].to(torch.float32)
        kept += torch.equal(out, original)
        mirrored += torch.equal(out, original.flip(-1))
    assert kept + mirrored == 64 and kept > 10 and mirrored > 10


def test_cutout_zeroes_one_clipped_square_in_every_channel() -> None:
    data = _dataset(torch.full((64, 3, 32, 32), 200, dtype=torch.uint8))
    x, _ = next(
        batches(data, 64, generator=torch.Generator().manual_seed(3), augment=Augment(cutout=16))
    )
    values = x.unique().tolist()
    assert values[0] == 0.0 and values[1:] == [pytest.approx(200 / 255)]
    zero = x == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))  # the same square in every channel
    full = 0
    for mask in zero[:, 0]:
        rows, cols = mask.any(1).sum().item(), mask.any(0).sum().item()
        assert mask.sum().item() == rows * cols  # a rectangle
        assert 8 <= rows <= 16 and 8 <= cols <= 16
        full += rows == cols == 16
    assert full > 0
