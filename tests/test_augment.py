"""Tests for recog.augment: every op keeps the image a uint8 text line of about the same size, is
deterministic for a seed, adds no structure to a blank image, and keeps rendered text readable."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from recog import augment
from recog.augment import LETTERFORM_OPS, OPS, LetterformAugment, TextLineAugment

BLANK_COLOUR = (200, 190, 180)
GEOMETRIC = {"rotate", "perspective", "shear", "warp"}
ALL_OPS = {**OPS, **LETTERFORM_OPS}


def render_line(text: str = "Invoice #A12: $1,250.00", size: int = 28, pad: int = 6) -> np.ndarray:
    """Dark text on light paper, (H, W, 3) uint8, with Pillow's built-in scalable font."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), (235, 230, 220))
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=(20, 20, 40))
    return np.asarray(img).copy()


@pytest.fixture(scope="module")
def line() -> np.ndarray:
    return render_line()


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def ink_mask(image: np.ndarray) -> np.ndarray:
    """Boolean ink mask: the minority class of an Otsu threshold (works for either polarity)."""
    _, mask = cv2.threshold(_gray(image), 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = mask.astype(bool)
    return ~mask if mask.mean() > 0.5 else mask


def ink_stats(image: np.ndarray) -> dict[str, float]:
    """Share of ink pixels, ink/paper contrast (difference of medians) and ink bounding box."""
    gray, mask = _gray(image).astype(np.float64), ink_mask(image)
    ys, xs = np.nonzero(mask)
    return {
        "ink": float(mask.mean()),
        "contrast": abs(float(np.median(gray[mask]) - np.median(gray[~mask]))),
        "width": float(xs.max() - xs.min() + 1),
        "height": float(ys.max() - ys.min() + 1),
    }


def readable(reference: np.ndarray, image: np.ndarray, least_ink: float = 0.6) -> bool:
    """A geometry-tolerant readability proxy: the text keeps at least 40% of its contrast, about
    the same amount of ink (no strokes lost or smeared into blobs; ``least_ink`` of it at least)
    and about the same extent."""
    a, b = ink_stats(reference), ink_stats(image)
    return (
        b["contrast"] >= 0.4 * a["contrast"]
        and least_ink <= b["ink"] * image.size / (a["ink"] * reference.size) <= 1.7
        and 0.85 <= b["width"] / a["width"] <= 1.15
        and 0.7 <= b["height"] / a["height"] <= 1.4
    )


def pixel_similarity(reference: np.ndarray, image: np.ndarray) -> float:
    """|normalised cross-correlation| of two same-shape images after grayscale and a small blur;
    1 = the same picture (or its negative)."""

    def prep(x: np.ndarray) -> np.ndarray:
        g = cv2.GaussianBlur(_gray(x).astype(np.float64), (0, 0), 1.0)
        return (g - g.mean()) / (g.std() + 1e-9)

    return abs(float((prep(reference) * prep(image)).mean()))


@pytest.mark.parametrize("name", sorted(ALL_OPS))
def test_op_shape_dtype_and_determinism(name: str, line: np.ndarray) -> None:
    op = ALL_OPS[name]
    before = line.copy()
    h, w = line.shape[:2]
    for seed in range(6):
        out = op(line, np.random.default_rng(seed))
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert abs(out.shape[0] - h) <= 0.26 * h + 1, (name, out.shape, line.shape)
        assert abs(out.shape[1] - w) <= (0.3 if name == "shear" else 0.06) * h + 1, (name, out.shape, line.shape)
        if name not in ("rotate", "shear"):
            assert out.shape == line.shape
        again = op(line, np.random.default_rng(seed))
        assert np.array_equal(out, again), f"{name} is not deterministic for seed {seed}"
    np.testing.assert_array_equal(line, before)  # the input is never modified in place


@pytest.mark.parametrize("name", sorted(ALL_OPS))
def test_op_changes_pixels_but_keeps_text(name: str, line: np.ndarray) -> None:
    outs = [ALL_OPS[name](line, np.random.default_rng(seed)) for seed in range(6)]
    changed = [o.shape != line.shape or np.abs(o.astype(int) - line).mean() > 0.2 for o in outs]
    assert sum(changed) >= 4, f"{name} rarely changes the image"
    for out in outs:  # a lighter weight takes a pixel off strokes of 2-3
        assert readable(line, out, least_ink=0.5 if name == "stroke" else 0.6), (name, ink_stats(line), ink_stats(out))
        if name not in GEOMETRIC:  # same geometry: the picture itself must stay close
            assert pixel_similarity(line, out) > 0.85, name
            if name != "invert":
                assert np.abs(out.astype(int) - line).mean() < 45, name


@pytest.mark.parametrize("name", sorted(ALL_OPS))
def test_op_leaves_blank_image_blank(name: str) -> None:
    blank = np.empty((40, 300, 3), np.uint8)
    blank[:] = BLANK_COLOUR
    for seed in range(4):
        out = ALL_OPS[name](blank, np.random.default_rng(seed)).astype(np.float64)
        assert out.std(axis=(0, 1)).max() < 16, name
        # No edges: neighbouring pixels never differ the way a stroke edge would (noise aside).
        smooth = cv2.GaussianBlur(out, (0, 0), 1.5)
        assert np.abs(np.diff(smooth, axis=1)).max() < 20, name


@pytest.mark.parametrize("name", sorted(ALL_OPS))
def test_op_accepts_grayscale(name: str, line: np.ndarray) -> None:
    gray = cv2.cvtColor(line, cv2.COLOR_RGB2GRAY)
    out = ALL_OPS[name](gray, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.ndim == 2
    assert abs(out.shape[0] - gray.shape[0]) <= 0.26 * gray.shape[0] + 1


def test_rotate_keeps_all_ink_and_tilts_long_lines_less() -> None:
    short = render_line("Hi", pad=3)
    long = render_line("A long line of text that runs across the page", pad=3)
    for seed in range(10):
        for img in (short, long):
            out = augment.rotate(img, np.random.default_rng(seed))
            ink = lambda x: (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) < 128).sum()  # noqa: E731
            assert ink(out) >= 0.8 * ink(img)  # nothing cut off (interpolation thins strokes a little)
            assert out.shape[0] <= 1.25 * img.shape[0] + 1


def test_text_line_augment(line: np.ndarray) -> None:
    aug = TextLineAugment(prob=0.6, max_ops=3, min_ops=1)
    outs = [aug(line, np.random.default_rng(seed)) for seed in range(30)]
    for seed, out in enumerate(outs):
        assert out.dtype == np.uint8 and out.shape[2] == 3
        assert abs(out.shape[0] - line.shape[0]) <= 0.26 * line.shape[0] + 1
        assert np.array_equal(out, aug(line, np.random.default_rng(seed)))  # deterministic
        assert readable(line, out), (seed, aug.choose(np.random.default_rng(seed)))
    changed = [o.shape != line.shape or not np.array_equal(o, line) for o in outs]
    assert all(changed)  # min_ops=1: something is always applied
    assert len({o.tobytes() for o in outs}) == len(outs)


def test_text_line_augment_choice_rules() -> None:
    rng = np.random.default_rng(0)
    aug = TextLineAugment(prob=1.0, max_ops=4)
    order = list(OPS)
    for _ in range(50):
        names = aug.choose(rng)
        assert len(names) == 4
        assert not {"gaussian_blur", "motion_blur"} <= set(names)
        assert names == sorted(names, key=order.index)
    assert TextLineAugment(prob=0.0).choose(rng) == []
    assert len(TextLineAugment(prob=0.0, min_ops=2).choose(rng)) == 2
    assert TextLineAugment(prob=1.0, ops=["jpeg"]).choose(rng) == ["jpeg"]
    with pytest.raises(ValueError):
        TextLineAugment(ops=["sharpen"])
    with pytest.raises(ValueError):
        TextLineAugment(prob=1.5)


def test_text_line_augment_seeded_instance(line: np.ndarray) -> None:
    first, second = TextLineAugment(prob=0.8, seed=5), TextLineAugment(prob=0.8, seed=5)
    a, b = [first(line) for _ in range(3)], [second(line) for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))  # same seed, same stream
    unchanged = TextLineAugment(prob=0.0)(line)
    assert np.array_equal(unchanged, line) and unchanged is not line
    with pytest.raises(ValueError):
        TextLineAugment()(line.astype(np.float32))


def test_stroke_makes_the_ink_bolder_or_lighter_on_either_polarity_and_spares_small_lines(line: np.ndarray) -> None:
    for image in (line, 255 - line):  # dark ink on paper, light ink on a dark ground
        inks = {round(ink_stats(augment.stroke(image, np.random.default_rng(seed)))["ink"] / ink_stats(image)["ink"], 2)
                for seed in range(8)}
        assert min(inks) < 0.85 and max(inks) > 1.15, inks  # both ways, and the ink side each time
    small = cv2.resize(line, (line.shape[1] * 20 // line.shape[0], 20))
    assert np.array_equal(augment.stroke(small, np.random.default_rng(0)), small)


def test_shear_slants_the_ink_both_ways_and_keeps_all_of_it() -> None:
    bar = np.full((40, 60), 255, np.uint8)
    bar[5:35, 28:32] = 0  # an upright stroke
    leans = set()
    for seed in range(8):
        out = augment.shear(bar, np.random.default_rng(seed))
        ys, xs = np.nonzero(out < 128)
        top, bottom = xs[ys < 10].mean(), xs[ys > 30].mean()
        leans.add(np.sign(round(top - bottom)))
        assert (out < 128).sum() >= 0.8 * (bar < 128).sum()  # nothing cut off
    assert {-1, 1} <= leans  # italic and back-slanted


def test_letterforms_come_first_only_when_asked_then_the_chosen_ops(line: np.ndarray) -> None:
    plain, shaped = TextLineAugment(prob=0.5), TextLineAugment(prob=0.5, letterform_prob=1.0)
    assert plain.letterforms is None and isinstance(shaped.letterforms, LetterformAugment)
    outs = [(plain(line, np.random.default_rng(s)), shaped(line, np.random.default_rng(s))) for s in range(6)]
    assert all(not np.array_equal(a, b) for a, b in outs)
    assert all(b.shape[1] > line.shape[1] or b.shape[0] != line.shape[0] for _, b in outs)  # slanted: wider
    rng = np.random.default_rng(1)
    expected = LetterformAugment(1.0)(line, rng)  # the letterform draws come first, then choose's
    for name in plain.choose(rng):
        expected = OPS[name](expected, rng)
    assert np.array_equal(shaped(line, np.random.default_rng(1)), expected)
    assert np.array_equal(LetterformAugment(0.0)(line, np.random.default_rng(0)), line)
    for wrong in (1.5, -0.1):
        with pytest.raises(ValueError):
            LetterformAugment(wrong)
        with pytest.raises(ValueError):
            TextLineAugment(letterform_prob=wrong)
