"""The text detector: a small convolutional backbone, an FPN neck and a DB head.

DB ("Real-time Scene Text Detection with Differentiable Binarization", Liao et al. 2020), as
PP-OCR and RapidOCR run it: the head predicts, at the input's resolution, a text *probability*
map (text cores: each line's box shrunk by DB's offset), a *threshold* map (high near text
borders) and, in training only, their differentiable binarisation ``sigmoid(k (P - T))``. Boxes come
from the probability map alone (``recog_edge.boxes``).

The backbone is MobileNet-like (depthwise-separable residual blocks, stride-2 stages to 1/32)
so a 960-pixel page runs in a fraction of a second on two CPU cores; the FPN merges the four
scales at 1/4 of the input, and two transposed convolutions bring the maps back to full size.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from recog_edge.boxes import STRIDE

MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics: inputs are RGB in [0, 1] normalised by them
STD = (0.229, 0.224, 0.225)


def conv_bn(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1, act: bool = True
            ) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(c_out)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SeparableBlock(nn.Module):
    """Depthwise 5x5 then pointwise 1x1, with a residual: wide receptive field at little cost."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.depthwise = conv_bn(channels, channels, 5, groups=channels)
        self.pointwise = conv_bn(channels, channels, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.pointwise(self.depthwise(x)))


class DetectionBackbone(nn.Module):
    """Images (B, 3, H, W) -> features at strides 4, 8, 16 and 32 (``channels[1:]`` channels)."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64, 96, 128), depths: tuple[int, ...] = (1, 2, 2, 2)
                 ) -> None:
        super().__init__()
        if len(channels) != 5 or len(depths) != 4:
            raise ValueError("detector backbone: channels needs 5 entries (stem, 4 stages), depths 4")
        self.stem = conv_bn(3, channels[0], 3, 2)  # stride 2
        self.stages = nn.ModuleList(
            nn.Sequential(conv_bn(c_in, c_out, 3, 2), *[SeparableBlock(c_out) for _ in range(depth)])
            for c_in, c_out, depth in zip(channels[:-1], channels[1:], depths, strict=True))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class FPN(nn.Module):
    """Top-down feature pyramid: four scales -> one map at stride 4 with ``inner`` channels."""

    def __init__(self, in_channels: tuple[int, ...], inner: int = 64) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, inner, 1, bias=False) for c in in_channels)
        self.smooth = nn.ModuleList(conv_bn(inner, inner // len(in_channels), 3) for _ in in_channels)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        laterals = [conv(f) for conv, f in zip(self.lateral, features, strict=True)]
        for i in range(len(laterals) - 1, 0, -1):
            upsampled = F.interpolate(laterals[i], size=laterals[i - 1].shape[-2:], mode="nearest")
            laterals[i - 1] = laterals[i - 1] + upsampled
        size = laterals[0].shape[-2:]
        outs = [F.interpolate(smooth(x), size=size, mode="nearest") if i else smooth(x)
                for i, (smooth, x) in enumerate(zip(self.smooth, laterals, strict=True))]
        return torch.cat(outs, dim=1)  # (B, inner, H/4, W/4)


class MapHead(nn.Module):
    """Stride-4 features -> one full-resolution map in [0, 1] (B, 1, H, W)."""

    def __init__(self, channels: int, hidden: int = 16) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            conv_bn(channels, hidden, 3),
            nn.ConvTranspose2d(hidden, hidden, 2, 2, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(hidden, 1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.layers(x))


class TextDetector(nn.Module):
    """Backbone + FPN + DB head. ``forward(images)`` takes RGB (B, 3, H, W) in [0, 1] with H and W
    multiples of 32 and returns ``{"prob": (B, 1, H, W)}``, plus ``"thresh"`` and ``"binary"`` in
    training mode.

    Args:
        channels: stem and four stage widths of the backbone. depths: blocks per stage.
        inner: FPN width. k: DB's binarisation steepness.
    """

    STRIDE = STRIDE  # input sides must be multiples of this

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64, 96, 128), depths: tuple[int, ...] = (1, 2, 2, 2),
                 inner: int = 64, k: float = 50.0) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"detector": {"channels": list(channels), "depths": list(depths),
                                                    "inner": inner, "k": k}}
        self.backbone = DetectionBackbone(tuple(channels), tuple(depths))
        self.neck = FPN(tuple(channels[1:]), inner)
        self.prob_head = MapHead(inner)
        self.thresh_head = MapHead(inner)
        self.k = k
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextDetector:
        """A detector from the ``config`` it saved (``{"detector": {...}}``)."""
        return cls(**config["detector"])

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (images - self.mean) / self.std
        features = self.neck(self.backbone(x))
        prob = self.prob_head(features)  # (B, 1, H, W)
        if not self.training:
            return {"prob": prob}
        thresh = self.thresh_head(features)  # (B, 1, H, W)
        binary = torch.sigmoid(self.k * (prob - thresh))
        return {"prob": prob, "thresh": thresh, "binary": binary}


def db_loss(maps: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], negative_ratio: float = 3.0,
            thresh_weight: float = 10.0, binary_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """DB's loss: balanced BCE on the probability map (all positives and the hardest
    ``negative_ratio`` times as many negatives), L1 on the threshold map inside the dilated
    boxes, dice on the binary map. ``targets`` (each (B, H, W)): ``shrink``, ``shrink_mask``
    (0 where a box is ignored), ``thresh``, ``thresh_mask``. Returns the parts and ``loss``."""
    prob, thresh, binary = (maps[name][:, 0] for name in ("prob", "thresh", "binary"))
    gt, mask = targets["shrink"], targets["shrink_mask"]
    positive = gt * mask
    negative = (1 - gt) * mask
    n_pos = int(positive.sum())
    n_neg = min(int(negative.sum()), int(n_pos * negative_ratio)) if n_pos else min(int(negative.sum()), 10_000)
    bce = F.binary_cross_entropy(prob.clamp(1e-6, 1 - 1e-6), gt, reduction="none")
    neg_loss = (bce * negative).flatten()
    hardest = torch.topk(neg_loss, n_neg).values if n_neg else neg_loss[:0]
    prob_loss = ((bce * positive).sum() + hardest.sum()) / (n_pos + n_neg + 1e-6)
    t_mask = targets["thresh_mask"]
    thresh_loss = ((thresh - targets["thresh"]).abs() * t_mask).sum() / (t_mask.sum() + 1e-6)
    intersection = (binary * gt * mask).sum()
    union = (binary * mask).sum() + (gt * mask).sum() + 1e-6
    binary_loss = 1 - 2 * intersection / union
    loss = prob_loss + thresh_weight * thresh_loss + binary_weight * binary_loss
    return {"loss": loss, "prob": prob_loss, "thresh": thresh_loss, "binary": binary_loss}
