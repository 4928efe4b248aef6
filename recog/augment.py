"""Training augmentation for text-line images (OpenCV + numpy).

Every op takes a uint8 image, RGB ``(H, W, 3)`` or grayscale ``(H, W)``, and a
``numpy.random.Generator``, and returns a uint8 image with the same number of channels. All ops are
mild: the text must stay readable, because the label does not change. Only ``rotate`` and
``shear`` change the shape (they grow the canvas a little so no ink is cut off); every other op
keeps it.

``TextLineAugment`` applies a random subset of the ops, in a fixed, physically sensible order:
the letterforms themselves where asked (``LetterformAugment``: stroke weight, warp, slant, as
another font draws them), then geometry (the page is tilted or seen at an angle), then photometry
(ink, paper and lighting), then optics (blur, lower resolution), then sensor noise, then JPEG
compression.

    augment = TextLineAugment(prob=0.5)
    out = augment(image, np.random.default_rng(0))   # (H', W', 3) uint8
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

Op = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _check(image: np.ndarray) -> None:
    """Raise ValueError unless ``image`` is uint8 (H, W) or (H, W, 3) with H, W >= 2."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3) or min(image.shape[:2]) < 2:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")


def border_colour(image: np.ndarray) -> tuple[float, ...]:
    """Median colour of the 1-pixel frame of ``image``: the background of a text-line crop, used to
    fill the area that a geometric op uncovers. One value per channel (a 1-tuple for grayscale)."""
    # frame: (2W + 2H - 4, C)
    pixels = image.reshape(image.shape[0], image.shape[1], -1)
    frame = np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]])
    return tuple(float(v) for v in np.median(frame, axis=0))


def _fill(image: np.ndarray) -> tuple[float, ...] | float:
    colour = border_colour(image)
    return colour if image.ndim == 3 else colour[0]


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------


def rotate(
    image: np.ndarray, rng: np.random.Generator, max_degrees: float = 3.0, max_growth: float = 0.25
) -> np.ndarray:
    """Rotate about the centre by up to +-``max_degrees``; the canvas grows to hold the whole
    rotated image (nothing is cut off) and the uncovered corners get the border colour. The angle
    is also capped so the height grows by at most ``max_growth * H``: a long line tilts less than
    a short word, as its ends would otherwise move far out of the line.

    (H, W, C) -> (H', W', C) with H' <= (1 + max_growth) H + 1 and W' <= W + 0.06 H + 1."""
    _check(image)
    h, w = image.shape[:2]
    limit = min(max_degrees, math.degrees(math.asin(min(1.0, max_growth * h / w))))
    angle = float(rng.uniform(-limit, limit))
    cos, sin = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    new_w, new_h = math.ceil(w * cos + h * sin), math.ceil(h * cos + w * sin)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)  # (2, 3)
    matrix[0, 2] += (new_w - w) / 2
    matrix[1, 2] += (new_h - h) / 2
    return cv2.warpAffine(
        image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=_fill(image)
    )


def perspective(image: np.ndarray, rng: np.random.Generator, max_dx: float = 0.04, max_dy: float = 0.12) -> np.ndarray:
    """A mild perspective warp: each corner moves inward by up to ``max_dx * W`` horizontally and
    ``max_dy * H`` vertically, so the line looks seen slightly from the side, above or below. The
    content only shrinks, so no ink leaves the canvas; uncovered margins get the border colour.

    (H, W, C) -> (H, W, C)."""
    _check(image)
    h, w = image.shape[:2]
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])  # (4, 2) corners, clockwise
    dx = rng.uniform(0, max_dx * w, size=4)
    dy = rng.uniform(0, max_dy * h, size=4)
    inward = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])  # direction of "inward" per corner
    dst = (src + inward * np.stack([dx, dy], axis=1)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)  # (3, 3)
    return cv2.warpPerspective(
        image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=_fill(image)
    )


# ---------------------------------------------------------------------------------------------
# Photometry
# ---------------------------------------------------------------------------------------------


def brightness_contrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Contrast x0.65-1.3 about the mean, brightness -35..+35 and gamma 0.75-1.35 (values are
    clipped to 0..255). (H, W, C) -> (H, W, C)."""
    _check(image)
    alpha, beta, gamma = rng.uniform(0.65, 1.3), rng.uniform(-35, 35), rng.uniform(0.75, 1.35)
    x = image.astype(np.float32)
    x = (x - x.mean()) * alpha + x.mean() + beta
    x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** gamma
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def colour_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hue shift of up to +-25 degrees and saturation x0.5-1.5 (RGB only; a grayscale image is
    returned unchanged). (H, W, 3) -> (H, W, 3)."""
    _check(image)
    shift, scale = rng.uniform(-12.5, 12.5), rng.uniform(0.5, 1.5)  # OpenCV hue is 0..179 (2 degrees)
    if image.ndim == 2:
        return image.copy()
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)  # (H, W, 3)
    hsv[..., 0] = np.mod(hsv[..., 0] + shift, 180)
    hsv[..., 1] = np.clip(hsv[..., 1] * scale, 0, 255)
    return cv2.cvtColor(np.round(hsv).astype(np.uint8), cv2.COLOR_HSV2RGB)


def illumination(image: np.ndarray, rng: np.random.Generator, min_gain: float = 0.75) -> np.ndarray:
    """Uneven lighting: multiply by a linear ramp from a random gain in [min_gain, 1] to 1 along a
    random direction (a shadow or a lamp to one side). (H, W, C) -> (H, W, C)."""
    _check(image)
    h, w = image.shape[:2]
    low, theta = rng.uniform(min_gain, 1.0), rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)  # (H, W) each
    t = xx * math.cos(theta) * (h / w) + yy * math.sin(theta)  # direction in a square-ish frame
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)  # (H, W) in [0, 1]
    gain = low + (1.0 - low) * t
    if image.ndim == 3:
        gain = gain[..., None]
    return np.clip(image.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


def invert(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Negative image (light text on dark ground and vice versa). ``rng`` is unused; it is taken
    for a uniform op signature. (H, W, C) -> (H, W, C)."""
    _check(image)
    return 255 - image


# ---------------------------------------------------------------------------------------------
# Optics
# ---------------------------------------------------------------------------------------------


def gaussian_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Out-of-focus blur: Gaussian with sigma 0.4 .. min(1.4, H / 35) pixels (a taller line, i.e.
    bigger text, takes more blur). (H, W, C) -> (H, W, C)."""
    _check(image)
    sigma = rng.uniform(0.4, max(0.5, min(1.4, image.shape[0] / 35)))
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def motion_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera-shake blur: average along a line of 3 .. max(3, H / 12) pixels at a random angle.
    (H, W, C) -> (H, W, C)."""
    _check(image)
    length = int(rng.integers(3, max(3, round(image.shape[0] / 12)) + 1))
    angle = rng.uniform(0, math.pi)
    size = length if length % 2 else length + 1
    kernel = np.zeros((size, size), np.float32)  # (K, K)
    c, r = (size - 1) / 2, (length - 1) / 2
    p0 = (round(c - r * math.cos(angle)), round(c - r * math.sin(angle)))
    p1 = (round(c + r * math.cos(angle)), round(c + r * math.sin(angle)))
    cv2.line(kernel, p0, p1, 1.0, thickness=1)
    kernel /= kernel.sum()
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE)


def resample(image: np.ndarray, rng: np.random.Generator, min_height: int = 12) -> np.ndarray:
    """Low resolution: shrink by a factor 0.45-0.9 (never below ``min_height`` rows) and enlarge
    back, with bilinear or nearest interpolation (soft or blocky). (H, W, C) -> (H, W, C)."""
    _check(image)
    h, w = image.shape[:2]
    factor = max(rng.uniform(0.45, 0.9), min(1.0, min_height / h))
    nearest = rng.random() < 0.3
    small = cv2.resize(image, (max(2, round(w * factor)), max(2, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


# ---------------------------------------------------------------------------------------------
# Sensor and compression
# ---------------------------------------------------------------------------------------------


def gaussian_noise(image: np.ndarray, rng: np.random.Generator, max_sigma: float = 12.0) -> np.ndarray:
    """Additive Gaussian noise with sigma 3..``max_sigma`` (in 0..255 units), the same on all
    channels (luminance noise) half of the time, else per channel. (H, W, C) -> (H, W, C)."""
    _check(image)
    sigma = rng.uniform(3.0, max_sigma)
    mono = rng.random() < 0.5
    shape = image.shape[:2] + ((1,) if image.ndim == 3 and mono else image.shape[2:])
    noise = rng.normal(0.0, sigma, size=shape).astype(np.float32)
    return np.clip(image.astype(np.float32) + noise + 0.5, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, rng: np.random.Generator, min_quality: int = 30, max_quality: int = 85) -> np.ndarray:
    """JPEG re-compression at a random quality (blocking and ringing around strokes).
    (H, W, C) -> (H, W, C)."""
    _check(image)
    quality = int(rng.integers(min_quality, max_quality + 1))
    colour = image.ndim == 3
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if colour else image  # OpenCV encodes BGR
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("cv2.imencode failed to encode JPEG")
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB) if colour else out


# ---------------------------------------------------------------------------------------------
# Letterforms: the glyphs' own shapes, as another font would draw them
# ---------------------------------------------------------------------------------------------


def shear(image: np.ndarray, rng: np.random.Generator, max_shear: float = 0.3) -> np.ndarray:
    """Slant the letters by a horizontal shear of up to +-``max_shear`` (0.3: about 17 degrees),
    italic or back-slanted; the canvas widens by the shear times H so no ink is cut off, and the
    uncovered corners get the border colour.

    (H, W, C) -> (H, W + ceil(|shear| H), C)."""
    _check(image)
    h, w = image.shape[:2]
    amount = float(rng.uniform(-max_shear, max_shear))
    grow = math.ceil(abs(amount) * h)
    # x' = x - amount * y (+ amount * H for an italic slant, whose top moves right)
    matrix = np.float32([[1, -amount, max(amount, 0.0) * h], [0, 1, 0]])  # (2, 3)
    return cv2.warpAffine(image, matrix, (w + grow, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=_fill(image))


def stroke(image: np.ndarray, rng: np.random.Generator, min_height: int = 24) -> np.ndarray:
    """Bolder or lighter strokes: the ink grows or shrinks by a pixel per 48 of H (a min or max
    filter on the side of the ink, which is darker or lighter than the border). Lines under
    ``min_height`` pixels, whose strokes a pixel would close or erase, stay as they are.

    (H, W, C) -> (H, W, C)."""
    _check(image)
    h = image.shape[0]
    if h < min_height:
        return image.copy()
    size = 1 + max(1, round(h / 48))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    luminance = image.mean(axis=2) if image.ndim == 3 else image
    dark_ink = float(np.mean(border_colour(image))) >= float(luminance.mean())
    bolder = bool(rng.random() < 0.5)
    return cv2.erode(image, kernel) if bolder == dark_ink else cv2.dilate(image, kernel)


def warp(image: np.ndarray, rng: np.random.Generator, max_shift: float = 0.04) -> np.ndarray:
    """Wobble the letterforms: every pixel moves by a smooth random field of up to
    ``max_shift * H`` in x and y, drawn on a grid of half-height cells and interpolated (as
    PaddleOCR's TIA distortion moves control points), so strokes bend and widths vary along the line.

    (H, W, C) -> (H, W, C)."""
    _check(image)
    h, w = image.shape[:2]
    cols = max(2, math.ceil(2 * w / h) + 1)
    limit = max_shift * h
    shift_x, shift_y = (cv2.resize(rng.uniform(-limit, limit, size=(3, cols)).astype(np.float32), (w, h),
                                   interpolation=cv2.INTER_CUBIC) for _ in range(2))  # (H, W) each
    grid_y, grid_x = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, grid_x + shift_x, grid_y + shift_y, interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=_fill(image))


# Name -> op: each applied (in this order) with LetterformAugment's probability.
LETTERFORM_OPS: dict[str, Op] = {"stroke": stroke, "warp": warp, "shear": shear}


class LetterformAugment:
    """Change the glyphs as an unseen font might draw them: each of ``LETTERFORM_OPS`` (stroke
    weight, a smooth local warp, slant) applies with probability ``prob``, before the page and
    camera degradations of ``TextLineAugment``. Deterministic for a given generator."""

    def __init__(self, prob: float = 0.25) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        self.prob = prob

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``image`` (uint8 (H, W, 3) or (H, W)) with the ops drawn applied; only ``shear`` widens it."""
        rolls = rng.random(len(LETTERFORM_OPS))  # one draw per op, so the stream stays aligned
        out = image
        for op, roll in zip(LETTERFORM_OPS.values(), rolls, strict=True):
            if roll < self.prob:
                out = op(out, rng)
        return out


# ---------------------------------------------------------------------------------------------
# Random pipeline
# ---------------------------------------------------------------------------------------------

# Name -> op, in the order they are applied.
OPS: dict[str, Op] = {
    "rotate": rotate,
    "perspective": perspective,
    "brightness_contrast": brightness_contrast,
    "colour_jitter": colour_jitter,
    "illumination": illumination,
    "invert": invert,
    "gaussian_blur": gaussian_blur,
    "motion_blur": motion_blur,
    "resample": resample,
    "gaussian_noise": gaussian_noise,
    "jpeg": jpeg,
}
# Relative odds of each op (multiplied by ``prob``): rarer for the more disruptive ones.
WEIGHTS: dict[str, float] = {
    "rotate": 1.0,
    "perspective": 0.7,
    "brightness_contrast": 1.0,
    "colour_jitter": 0.7,
    "illumination": 0.6,
    "invert": 0.2,
    "gaussian_blur": 0.8,
    "motion_blur": 0.4,
    "resample": 0.7,
    "gaussian_noise": 1.0,
    "jpeg": 1.0,
}
# Ops that are never combined with each other (stacked blurs make small text unreadable).
EXCLUSIVE: tuple[frozenset[str], ...] = (frozenset({"gaussian_blur", "motion_blur"}),)


class TextLineAugment:
    """Apply a random subset of OPS to a text-line image.

    Each op is picked with probability ``min(1, prob * WEIGHTS[op])``; mutually exclusive ops
    (two blurs) are thinned to one, at most ``max_ops`` picks are kept (a random subset) and, when
    fewer than ``min_ops`` were picked, random further ops are added. The picked ops then run in
    OPS order. ``ops`` restricts the pool to the named ops.

    ``letterform_prob`` above 0 first changes the glyphs themselves (``LetterformAugment``: each of
    stroke weight, warp and slant with that probability), as fonts unseen in training differ.

    Calls are deterministic for a given generator: pass ``rng``, or leave it out to use the
    instance's own generator (seeded with ``seed``).
    """

    def __init__(
        self,
        prob: float = 0.5,
        seed: int | None = None,
        max_ops: int = 3,
        min_ops: int = 0,
        ops: Sequence[str] | None = None,
        letterform_prob: float = 0.0,
    ) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        unknown = sorted(set(ops or ()) - set(OPS))
        if unknown:
            raise ValueError(f"unknown ops {unknown}; known: {sorted(OPS)}")
        self.names = [name for name in OPS if ops is None or name in ops]
        if not 0 <= min_ops <= max_ops:
            raise ValueError(f"need 0 <= min_ops <= max_ops, got {min_ops} and {max_ops}")
        self.prob, self.max_ops, self.min_ops = prob, max_ops, min(min_ops, len(self.names))
        if not 0.0 <= letterform_prob <= 1.0:
            raise ValueError(f"letterform_prob must be in [0, 1], got {letterform_prob}")
        self.letterforms = LetterformAugment(letterform_prob) if letterform_prob > 0 else None
        self.rng = np.random.default_rng(seed)

    def choose(self, rng: np.random.Generator) -> list[str]:
        """The names of the ops to apply, in OPS order."""
        rolls = rng.random(len(self.names))  # always one draw per op, so the stream stays aligned
        picked = [n for n, roll in zip(self.names, rolls, strict=True) if roll < min(1.0, self.prob * WEIGHTS[n])]
        for group in EXCLUSIVE:
            clash = [n for n in picked if n in group]
            if len(clash) > 1:
                keep = clash[int(rng.integers(len(clash)))]
                picked = [n for n in picked if n not in group or n == keep]
        if len(picked) > self.max_ops:
            keep_idx = set(rng.choice(len(picked), size=self.max_ops, replace=False).tolist())
            picked = [n for i, n in enumerate(picked) if i in keep_idx]
        while len(picked) < self.min_ops:
            blocked = {m for group in EXCLUSIVE if group & set(picked) for m in group}
            free = [n for n in self.names if n not in picked and n not in blocked]
            if not free:
                break
            picked.append(free[int(rng.integers(len(free)))])
        order = {name: i for i, name in enumerate(OPS)}
        return sorted(picked, key=order.__getitem__)

    def __call__(self, image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Augment ``image`` (uint8 (H, W, 3) RGB or (H, W)); returns a new uint8 image of nearly
        the same size (only ``rotate`` and ``shear`` change it, by a few pixels)."""
        _check(image)
        rng = self.rng if rng is None else rng
        out = image if self.letterforms is None else self.letterforms(image, rng)
        for name in self.choose(rng):
            out = OPS[name](out, rng)
        return out if out is not image else image.copy()
