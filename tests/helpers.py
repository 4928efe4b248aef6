"""Helpers shared by several test modules."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace


@contextmanager
def recipe_modules(folder: Path, *names: str) -> Iterator[SimpleNamespace]:
    """The recipe's modules ``names``; they are scripts in a folder, not a package, so import them
    from it and undo the sys.path and sys.modules changes afterwards."""
    sys.path.insert(0, str(folder))
    try:
        yield SimpleNamespace(**{name: importlib.import_module(name) for name in names})
    finally:
        sys.path.remove(str(folder))
        for name in names:
            sys.modules.pop(name, None)


def check_prefix_stable(make: Callable[..., list[str]], n: int, prefix: int) -> list[str]:
    """Assert that ``make(n, seed=7)`` is deterministic, depends on the seed, is prefix-stable and
    holds distinct texts; returns it."""
    first = make(n, seed=7)
    assert first == make(n, seed=7)
    assert first != make(n, seed=8)
    assert make(prefix, seed=7) == first[:prefix]  # prefix-stable, so splits carved from it stay fixed
    assert len(set(first)) == len(first)
    return first


TINY_CONFORMER = {"feat_in": 80, "d_model": 32, "n_layers": 2, "n_heads": 4, "subsampling_channels": 8,
                  "conv_kernel": 5, "causal": True, "conv_norm": "layer"}


def tiny_recognizer(context: list, heads: dict | None = None, **encoder_options: object):  # noqa: ANN201
    """A tiny causal speech Recognizer (CTC + RNN-T unless ``heads``) with attention context
    ``context`` ([left, right] or a list of them), in eval mode, seeded."""
    import torch

    from recog.model import Recognizer
    from recog.text import CharTokenizer

    torch.manual_seed(0)
    tokenizer = CharTokenizer("abcdefghijklmnopqrstuvwxyz '")
    encoder = {"name": "conformer", **TINY_CONFORMER, "subsampling_factor": 4, "att_context_size": context,
               **encoder_options}
    heads = heads or {"ctc": {}, "rnnt": {"pred_dim": 32, "joint_dim": 32}}
    return Recognizer(tokenizer, encoder, heads).eval()


TINY_VISION = {"name": "vision", "dims": [16, 24, 32], "depths": [1, 1, 1], "local_blocks": [1, 1, 0],
               "n_heads": [2, 2, 2]}


def tiny_line_recognizer(heads: dict, width_scale: float = 1.0):  # noqa: ANN201
    """A tiny text-line Recognizer (characters "abcdefgh", lines 32 px high, up to 1024 wide, long
    ones read ``width_scale`` as wide) with ``heads``, in eval mode, seeded; random weights that read
    something: the CTC head's blank and unknown made unlikely."""
    import torch

    from recog.model import Recognizer
    from recog.text import CharTokenizer

    torch.manual_seed(0)
    model = Recognizer(CharTokenizer("abcdefgh"), TINY_VISION, heads, frontend="image",
                       features={"height": 32, "max_width": 1024, "width_scale": width_scale}).eval()
    with torch.no_grad():
        model.heads["ctc"].proj.bias[:2] -= 4.0
    return model


def train(root: Path, config: dict) -> Path:
    """Run ``recog train`` on ``config`` (written to root/tiny.yaml); returns its last checkpoint."""
    import yaml

    from recog.cli import main

    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", "--config", str(path)]) == 0
    checkpoint = root / "ckpt" / "last.ckpt"
    assert checkpoint.is_file()
    return checkpoint


def cut_at(samples, cuts: list[int]) -> list:  # noqa: ANN001 - a numpy array
    """``samples`` cut into consecutive pieces after each running sum of ``cuts`` (clipped to its
    length): every sample once, in order."""
    import itertools

    bounds = sorted({min(c, len(samples)) for c in itertools.accumulate(cuts)} | {len(samples)})
    return [samples[a:b] for a, b in zip([0, *bounds[:-1]], bounds, strict=True)]


def stream_through(runtime, pieces: list, rate: int):  # noqa: ANN001, ANN201 - either runtime; a StreamResult
    """Feed ``pieces`` of audio at ``rate`` to a new stream of ``runtime`` (recog.streaming's
    StreamingRecognizer or recog_edge's EdgeModel: the same calls), decoding as they come; the
    finished stream's result."""
    stream = runtime.create_stream()
    for piece in pieces:
        stream.accept_waveform(rate, piece)
        runtime.decode(stream)
    stream.input_finished()
    runtime.decode(stream)
    return stream.result


def rect(x0: float, y0: float, x1: float, y1: float):  # noqa: ANN201 - a numpy (4, 2) box
    """An axis-aligned box as 4 corners, top-left first, clockwise."""
    import numpy as np

    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def render_page(lines: list[tuple[tuple[int, int], str]], size: tuple[int, int] = (320, 256), font_size: int = 22
                ) -> tuple:
    """A white page with ``lines`` ((x, y), text) in black DejaVu Sans, and their boxes as the page
    recipe draws them: from the first to the last ink, from the ascender to the descender line."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("DejaVuSans.ttf", font_size)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    boxes = []
    for (x, y), text in lines:
        draw.text((x, y), text, font=font, fill="black")
        left, _, right, _ = draw.textbbox((x, y), text, font=font)
        ascent, descent = font.getmetrics()
        boxes.append(rect(left, y, right, y + ascent + descent))
    return np.array(image), boxes


PAGES = [[((20, 20), "Hello world"), ((20, 70), "Second line 42"), ((160, 150), "right")],
         [((40, 30), "Invoice 2026"), ((40, 120), "Total: $12.50"), ((10, 200), "thanks")]]


def train_tiny_detector(steps: int = 140):  # noqa: ANN201 - (TextDetector, rendered pages)
    """A small TextDetector fitted to the two PAGES (seconds on one CPU thread), and the pages."""
    import torch

    from recog.detection.model import TextDetector, db_loss
    from recog.detection.targets import make_targets

    torch.manual_seed(0)
    rendered = [render_page(lines) for lines in PAGES]
    model = TextDetector(channels=(8, 16, 32, 32, 32), depths=(1, 1, 1, 1), inner=32)
    images = torch.stack([torch.from_numpy(img.copy()).permute(2, 0, 1).float() / 255 for img, _ in rendered])
    maps = [make_targets(256, 320, boxes) for _, boxes in rendered]
    targets = {k: torch.stack([torch.from_numpy(m[k]) for m in maps]) for k in maps[0]}
    optimizer = torch.optim.AdamW(model.parameters(), 5e-3)
    model.train()
    for _ in range(steps):
        loss = db_loss(model(images), targets)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), rendered


def train_head(head, h, h_lengths, targets, target_lengths, steps: int, lr: float = 3e-3) -> list[float]:  # noqa: ANN001
    """Adam on one head's loss over fixed encoder outputs (B, T, D) and targets; each step's loss,
    every one checked finite."""
    import torch

    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    losses = []
    head.train()
    for _ in range(steps):
        loss = head.loss(h, h_lengths, targets, target_lengths)
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def transparent_ink(source: Path, out: Path) -> Path:
    """``source`` as black ink on a transparent background (a logo, a design tool's export): RGBA
    whose alpha is each pixel's darkness, written to ``out``. Read on white it is ``source`` again;
    read without its alpha, black on black."""
    import numpy as np
    from PIL import Image

    with Image.open(source) as image:
        ink = 255 - np.asarray(image.convert("L"))
    Image.fromarray(np.dstack([np.zeros_like(ink)] * 3 + [ink]), "RGBA").save(out)
    return out
