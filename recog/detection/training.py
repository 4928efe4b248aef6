"""Lightning glue for the text detector: page manifests -> random crops with DB targets, and the
training system (DB loss; validation H-mean on whole pages at inference size).

``recog train --config configs/latin_det.yaml`` runs it: a config whose ``model`` has a
``detector`` section trains these classes instead of the recogniser's (``recog.train``).

A page manifest has one JSON object per image: ``image_filepath`` (relative to the manifest's
folder) and ``lines``: ``[{"text": ..., "points": [[x, y] x 4]}, ...]`` (``recipes/synth_pages``).
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import cv2
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from recog.detection.metrics import DetectionCounts
from recog.detection.model import TextDetector, db_loss
from recog.detection.targets import make_targets
from recog.image import load_image
from recog.train import budget_used, copy_matching_weights
from recog_edge.boxes import BoxOptions, DetectOptions, boxes_from_map, detection_input, luminance


def read_pages(manifest: str | Path) -> list[dict[str, Any]]:
    """The rows of a page manifest, with ``image_filepath`` made absolute and ``points`` as arrays."""
    manifest = Path(manifest)
    rows = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            row["image_filepath"] = str(manifest.parent / row["image_filepath"])
            row["polygons"] = [np.asarray(item["points"], np.float32).reshape(4, 2) for item in row["lines"]]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{manifest}:{number}: not a page manifest row ({type(err).__name__}: {err})") from None
        rows.append(row)
    if not rows:
        raise ValueError(f"{manifest}: no pages")
    return rows


def turn_square(image: np.ndarray, polygons: list[np.ndarray], quarters: int
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """A square ``image`` (S, S, C) and its polygons (points (x, y)) turned ``quarters`` x 90 degrees
    anticlockwise, as ``np.rot90`` turns the pixels: (x, y) -> (y, S - x) per quarter."""
    size = image.shape[0]
    for _ in range(quarters % 4):
        polygons = [np.stack([p[:, 1], size - p[:, 0]], axis=1).astype(np.float32) for p in polygons]
    return np.ascontiguousarray(np.rot90(image, quarters)), polygons


class PageCrops(Dataset):
    """Training items: a page scaled so its longer side is ``max_side`` times a random factor, a
    random ``size`` x ``size`` crop (mostly around a text box), with probability ``turn`` turned by
    90, 180 or 270 degrees (lines running up, down or upside down, as turned pages and photos hold
    them), mild photometric jitter, its luminance (as the detector reads pages), and the DB targets
    of the boxes inside (boxes the crop cuts are clipped to it)."""

    def __init__(self, rows: list[dict[str, Any]], size: int = 512, max_side: int = 1280,
                 scale: tuple[float, float] = (0.5, 1.3), turn: float = 0.0) -> None:
        self.rows, self.size, self.max_side, self.scale, self.turn = rows, size, max_side, scale, turn

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        # PyTorch seeds ``random`` in every loader worker, anew each epoch (from seed_everything):
        # crops differ between epochs and runs repeat
        rng = random.Random(random.getrandbits(64))
        row = self.rows[index]
        image = load_image(row["image_filepath"])
        height, width = image.shape[:2]
        factor = self.max_side / max(height, width) * rng.uniform(*self.scale)
        image = cv2.resize(image, (max(1, round(width * factor)), max(1, round(height * factor))),
                           interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
        polygons = [p * factor for p in row["polygons"]]
        image, polygons = self._crop(image, polygons, rng)
        if rng.random() < self.turn:
            image, polygons = turn_square(image, polygons, rng.randint(1, 3))
        image = luminance(self._jitter(image, rng))  # as detection_input gives pages to the detector
        targets = make_targets(self.size, self.size, polygons)
        item = {"image": torch.from_numpy(image).permute(2, 0, 1).float().div_(255)}  # (3, S, S)
        return item | {name: torch.from_numpy(value) for name, value in targets.items()}

    def _crop(self, image: np.ndarray, polygons: list[np.ndarray], rng: random.Random
              ) -> tuple[np.ndarray, list[np.ndarray]]:
        h, w = image.shape[:2]
        size = self.size
        if polygons and rng.random() < 0.85:  # around a box, so most crops hold text
            cx, cy = polygons[rng.randrange(len(polygons))].mean(axis=0)
            x0 = int(np.clip(cx - rng.uniform(0.1, 0.9) * size, 0, max(w - size, 0)))
            y0 = int(np.clip(cy - rng.uniform(0.1, 0.9) * size, 0, max(h - size, 0)))
        else:
            x0, y0 = rng.randint(0, max(w - size, 0)), rng.randint(0, max(h - size, 0))
        crop = image[y0:y0 + size, x0:x0 + size]
        fill = np.median(image.reshape(-1, 3), axis=0).astype(np.uint8)  # pad small pages with their paper
        canvas = np.empty((size, size, 3), np.uint8)
        canvas[:] = fill
        canvas[:crop.shape[0], :crop.shape[1]] = crop
        kept = []
        window = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32)
        for poly in polygons:
            shifted = (poly - [x0, y0]).astype(np.float32)
            inside, clipped = cv2.intersectConvexConvex(shifted, window)
            if inside <= 0 or clipped is None:
                continue
            if inside < 0.98 * abs(cv2.contourArea(shifted)):  # cut by the crop: keep the visible part
                shifted = cv2.boxPoints(cv2.minAreaRect(clipped.reshape(-1, 2)))
            kept.append(shifted)
        return canvas, kept

    @staticmethod
    def _jitter(image: np.ndarray, rng: random.Random) -> np.ndarray:
        out = image.astype(np.float32)
        if rng.random() < 0.5:
            out = out * rng.uniform(0.7, 1.2) + rng.uniform(-30, 30)
        if rng.random() < 0.2:
            out = out.mean(axis=2, keepdims=True).repeat(3, axis=2)
        if rng.random() < 0.2:
            out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.2))
        if rng.random() < 0.5:
            out = out[:, :, ::-1]  # BGR-swapped: with the channel mean above, other greys of the same colours
            # once the crop is made luminance
        return np.clip(out, 0, 255).astype(np.uint8)


class WholePages(Dataset):
    """Validation items: a page at detection size (padded to 32) with its boxes in those pixels."""

    def __init__(self, rows: list[dict[str, Any]], max_side: int = 1280) -> None:
        self.rows, self.max_side = rows, max_side

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rows[index]
        image = load_image(row["image_filepath"])
        height, width = image.shape[:2]
        resized, h, w = detection_input(image, DetectOptions(max_side=self.max_side))  # as inference reads it
        scale = np.array([w / width, h / height], np.float32)
        return {"image": torch.from_numpy(resized).permute(2, 0, 1).float().div_(255), "size": (h, w),
                "polygons": [p * scale for p in row["polygons"]]}


class DetectorSystem(L.LightningModule):
    """Trains a TextDetector with DB's loss; validation: H-mean at IoU 0.5 on whole pages.

    Args:
        model: TextDetector options (``{"detector": {...}}``). lr, weight_decay: AdamW.
        warmup_steps: linear warm-up, then cosine decay to zero over the run's step or time budget.
        init_from: a detector checkpoint or model folder to start from.
        val_boxes: ``BoxOptions`` settings for validation's boxes (default BoxOptions'), e.g. the
            shipped model's (``tools/det_tune.py``), so the best checkpoint is chosen as it will run.
    """

    def __init__(self, model: dict[str, Any], lr: float = 2e-3, weight_decay: float = 1e-4,
                 warmup_steps: int = 200, init_from: str | None = None,
                 val_boxes: dict[str, float] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = TextDetector.from_config(model)
        if init_from:
            from recog.checkpoint import read_model
            from recog.models import resolve

            copied = copy_matching_weights(self.model, read_model(resolve(init_from)).weights)
            print(f"init_from {init_from}: {copied} of {len(self.model.state_dict())} tensors copied")
        self.val_boxes = BoxOptions(**(val_boxes or {}))
        self.counts = DetectionCounts()
        self.validated_step = -1  # global step of the last finished validation (recog.train reads it)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        losses = db_loss(self.model(batch["image"]), batch)
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, prog_bar=True, batch_size=len(batch["image"]))
        return losses["loss"]

    def validation_step(self, batch: list[dict[str, Any]], batch_idx: int) -> None:
        for item in batch:
            h, w = item["size"]
            prob = self.model(item["image"][None].to(self.device))["prob"][0, 0, :h, :w].float().cpu().numpy()
            found = [box for box, _ in boxes_from_map(prob, options=self.val_boxes)]
            self.counts.add(found, item["polygons"])

    def on_validation_epoch_end(self) -> None:
        counts, self.counts = self.counts, DetectionCounts()
        if not self.trainer.sanity_checking:
            self.validated_step = self.global_step
        self.log_dict({"val/hmean": counts.hmean, "val/precision": counts.precision, "val/recall": counts.recall},
                      prog_bar=True)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        warmup = max(1, self.hparams.warmup_steps)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return 0.5 * (1 + math.cos(math.pi * min(1.0, budget_used(self._trainer))))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        from recog.checkpoint import checkpoint_section

        checkpoint["recog"] = checkpoint_section(self.model)


class PageDataModule(L.LightningDataModule):
    """Page manifests -> DataLoaders of random crops (training) and whole pages (validation).

    Args:
        crop: training crop side in pixels. batch_size: crops per step. max_side: a page's longer
            side at detection size (as ``recog.detection.detector.DetectOptions``).
        scale: random factor on that size in training. turn: share of training crops turned by a
            random 90, 180 or 270 degrees. val_pages: validation pages used (first N).
    """

    def __init__(self, train_manifest: str, val_manifest: str, crop: int = 512, batch_size: int = 8,
                 max_side: int = 1280, scale: tuple[float, float] = (0.5, 1.3), turn: float = 0.0,
                 val_pages: int = 50, num_workers: int = 2) -> None:
        super().__init__()
        self.save_hyperparameters()

    def train_dataloader(self) -> DataLoader:
        hp = self.hparams
        dataset = PageCrops(read_pages(hp.train_manifest), hp.crop, hp.max_side, tuple(hp.scale), hp.turn)
        return DataLoader(dataset, batch_size=hp.batch_size, shuffle=True, num_workers=hp.num_workers,
                          drop_last=True, persistent_workers=False)

    def val_dataloader(self) -> DataLoader:
        hp = self.hparams
        dataset = WholePages(read_pages(hp.val_manifest)[:hp.val_pages], hp.max_side)
        return DataLoader(dataset, batch_size=1, collate_fn=list, num_workers=hp.num_workers)
