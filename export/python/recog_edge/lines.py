"""Text-line images for a model: SVTRv2's multi-size resizing (numpy + OpenCV, shared by
``recog.image``), and reading lines with an exported text-line model on onnxruntime.

    model = EdgeLineModel("exported/")          # the folder `recog export` wrote for a text-line model
    for line in model.read(["line.png"]):
        print(line.text, line.x_positions)
    EdgeLineModel("exported/", lm="lm.npz")     # CTC prefix beam search with a character LM fused
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recog_edge.fusion import LM_BEAM, LMFusion
from recog_edge.lm import CharNgramLM
from recog_edge.search import char_text, path_segments, prefix_beam_search

SIZES = {1: (64, 64), 2: (96, 48), 3: (112, 40), 4: (128, 32)}  # aspect ratio -> (W, H)


def target_size(width: int, height: int, line_height: int = 32, max_width: int = 4096,
                width_scale: float = 1.0) -> tuple[int, int]:
    """(W, H) an image of this size is resized to: a fixed size for short ratios, else
    ``line_height`` high and as wide as its ratio asks, times ``width_scale`` (below 1: the glyphs
    squeezed, fewer columns to read), up to ``max_width``."""
    ratio = max(1, round(width / height))
    if ratio in SIZES:
        return SIZES[ratio]
    return min(line_height * max(1, round(width * width_scale / height)), max_width), line_height


def resize_line(image: np.ndarray, line_height: int = 32, max_width: int = 4096, width_scale: float = 1.0
                ) -> np.ndarray:
    """uint8 (H, W, 3) -> uint8 (h, w, 3) at the multi-size target for its aspect ratio."""
    import cv2

    height, width = image.shape[:2]
    w, h = target_size(width, height, line_height, max_width, width_scale)
    interpolation = cv2.INTER_AREA if h < height else cv2.INTER_CUBIC
    return cv2.resize(image, (w, h), interpolation=interpolation)


@dataclass
class LineResult:
    """One line read by the edge runtime: the fields (and their order) of ``recog ocr``'s JSON lines."""

    image_filepath: str
    text: str
    tokens: list[str] = field(default_factory=list)
    x_positions: list[int] = field(default_factory=list)
    confidence: float = 0.0
    token_confidences: list[float] = field(default_factory=list)
    score: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class EdgeLineModel:
    """An exported text-line model (``lines.onnx``, and ``parallel.onnx`` for the CPPD head).

    Args:
        folder: the export. head: one of the exported heads ("ctc", "parallel"; default: the model's).
        threads: lines read side by side, each on one onnxruntime thread (a line's small matrix
            products gain little from intra-op threads; separate lines run in parallel).
        lm: a character LM (``recog lm``; a file or a loaded model) fused into CTC prefix beam search
            of ``beam`` (``recog ocr --lm`` with the same settings reads the same text); None: greedy.
        lm_weight, lm_bonus: the LM's weight and per-token bonus (None: its setting tuned for the CTC
            head, else recog's defaults; ``recog_edge.fusion.fusion_weights``).
    """

    def __init__(self, folder: str | Path, head: str | None = None, threads: int = 1,
                 lm: str | Path | CharNgramLM | None = None, beam: int = LM_BEAM, lm_weight: float | None = None,
                 lm_bonus: float | None = None) -> None:
        from recog_edge.sessions import open_export

        folder = Path(folder)
        if not (folder / "lines.onnx").is_file():
            raise FileNotFoundError(f"{folder}: no lines.onnx (write one with `recog export` of a text-line model)")
        self.threads = threads
        self.session, self.meta = open_export(folder / "lines.onnx", "lines", 1)
        self.head = head or self.meta["default_head"]
        if self.head not in self.meta["heads"]:
            raise ValueError(f"{folder}: no {self.head!r} head exported (it has {self.meta['heads']})")
        self.vocabulary: list[str] = self.meta["vocabulary"]
        # CPPD decodes the encoder frames in a graph of its own; another head reads lines.onnx alone
        self.decoder = self._open_parallel(folder) if self.head == "parallel" else None
        self.wanted = ["encoded", "lengths"] if self.decoder else [f"{self.head}_log_probs", "lengths"]
        self.beam, self.fusion = beam, None
        if lm is not None:
            if self.head != "ctc":
                raise ValueError(f"a language model is fused into CTC prefix beam search, not the {self.head} head")
            if beam < 1:
                raise ValueError(f"beam must be at least 1, got {beam}")
            lm = lm if isinstance(lm, CharNgramLM) else CharNgramLM.load(lm)
            self.fusion = LMFusion(lm, self.vocabulary, lm_weight, lm_bonus, head="ctc")

    def _open_parallel(self, folder: Path):  # noqa: ANN202 - an onnxruntime.InferenceSession
        """The CPPD head's graph, refused in one line where the export predates it (format 1 had
        CPPD inside lines.onnx) or was written for another vocabulary."""
        from recog_edge.sessions import open_export

        if int(self.meta.get("format", 0)) < 2:
            raise ValueError(f"{folder / 'lines.onnx'}: export format {self.meta.get('format', 0)} (CPPD inside "
                             f"lines.onnx), which this runtime reads with the ctc head only; export the model "
                             f"again with `recog export` to read with the parallel head")
        session, meta = open_export(folder / "parallel.onnx", "lines", 1)
        if meta["vocabulary"] != self.vocabulary:
            raise ValueError(f"{folder / 'parallel.onnx'}: exported with another vocabulary than lines.onnx")
        return session

    def read(self, images: list[str | Path | np.ndarray]) -> list[LineResult]:
        """Read each image (a file, or uint8 RGB (H, W, 3)), ``threads`` of them at a time (onnxruntime
        lets go of the GIL while it runs); results in input order."""
        names = [str(image) if not isinstance(image, np.ndarray) else f"array {i}" for i, image in enumerate(images)]
        if self.threads < 2 or len(images) < 2:
            return [self._read_one(image, name) for image, name in zip(images, names, strict=True)]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(self.threads, len(images))) as pool:
            return list(pool.map(self._read_one, images, names))

    def _read_one(self, image: str | Path | np.ndarray, name: str) -> LineResult:
        from recog_edge.image_file import load_image

        if not isinstance(image, np.ndarray):
            image = load_image(image)
        config = self.meta["image"]
        resized = resize_line(image, config["height"], config["max_width"], config.get("width_scale", 1.0))
        feeds = {"images": resized[None], "widths": np.array([resized.shape[1]], dtype=np.int64)}
        outputs = dict(zip(self.wanted, self.session.run(self.wanted, feeds), strict=True))
        scale = image.shape[1] / resized.shape[1]
        if self.decoder is not None:
            log_probs, frames = (x[0] for x in self.decoder.run(
                ["log_probs", "frames"], {"encoded": outputs["encoded"], "encoded_lengths": outputs["lengths"]}))
            best = log_probs.argmax(axis=-1).tolist()
            n = best.index(0) if 0 in best else len(best) - 1
            tokens, stamps = best[:n], frames[:n].tolist()
            lp = [float(log_probs[i, t]) for i, t in enumerate(best[: n + 1 if 0 in best else n])]  # + the end
            probs = [float(np.exp(v)) for v in lp[:n]]
            score, confidence = sum(lp), float(np.exp(sum(lp) / max(len(lp), 1)))
        elif self.fusion is not None:
            log_probs = outputs["ctc_log_probs"][0, : int(outputs["lengths"][0])]
            hyp = prefix_beam_search(log_probs, self.beam, self.fusion)
            tokens, stamps, probs = hyp.tokens, hyp.timestamps, hyp.token_confidences
            score, confidence = hyp.score, hyp.confidence
        else:
            log_probs = outputs[f"{self.head}_log_probs"][0, : int(outputs["lengths"][0])]
            best = log_probs.argmax(axis=-1).tolist()
            lp = [float(log_probs[t, c]) for t, c in enumerate(best)]
            tokens, stamps, _ = path_segments(best)
            probs = [float(np.exp(lp[t])) for t in stamps]
            score, confidence = sum(lp), float(np.exp(sum(lp) / max(len(lp), 1)))
        stride = self.meta["stride"]
        return LineResult(
            image_filepath=name, text=char_text(self.vocabulary, tokens),
            tokens=[self.vocabulary[t] for t in tokens], x_positions=[int(round((t + 0.5) * stride * scale))
                                                                       for t in stamps],
            confidence=round(confidence, 4), token_confidences=[round(p, 4) for p in probs], score=round(score, 4))
