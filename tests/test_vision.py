"""recog.encoders.vision: output shapes and lengths for every multi-size height, batching and padding
invariance, the column mask, and the Feature Rearrangement Module's left-to-right order."""

from __future__ import annotations

import math

import pytest
import torch

from recog.encoders.vision import FeatureRearrangement, VisionEncoder, column_mask
from recog.model import Recognizer
from recog.text import CharTokenizer

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

TINY = {"dims": [16, 32, 48], "depths": [1, 1, 1], "local_blocks": [1, 0, 0], "n_heads": [1, 2, 2]}


def tiny_encoder() -> VisionEncoder:
    torch.manual_seed(0)
    encoder = VisionEncoder(**TINY).eval()
    # Non-trivial norm statistics and biases, so masking mistakes cannot hide behind zeros.
    with torch.no_grad():
        for module in encoder.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.bias.normal_(0, 0.5)
        encoder.frm.select.normal_(0, 1.0)
    return encoder


def images(count: int, height: int, width: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 3, height, width, generator=generator) * 2 - 1


# ---------------------------------------------------------------- column_mask


def test_column_mask_marks_the_feature_columns_that_cover_valid_pixels() -> None:
    mask = column_mask(torch.tensor([1, 4, 5, 8, 9, 0]), columns=3, stride=4)
    assert mask.tolist() == [
        [True, False, False],
        [True, False, False],
        [True, True, False],
        [True, True, False],
        [True, True, True],
        [False, False, False],
    ]


def test_column_mask_with_stride_1_is_the_pixel_mask() -> None:
    mask = column_mask(torch.tensor([3, 0, 5]), columns=5, stride=1)
    assert mask.sum(dim=1).tolist() == [3, 0, 5]
    assert mask[0].tolist() == [True, True, True, False, False]


# ---------------------------------------------------------------- shapes and lengths


@pytest.mark.parametrize("height", [32, 40, 48, 64])
def test_output_is_a_quarter_of_the_width_with_lengths_ceil_width_over_4(height: int) -> None:
    encoder = tiny_encoder()
    widths = torch.tensor([64, 37, 5, 1])

    with torch.no_grad():
        h, h_lengths = encoder(images(4, height, 64, seed=height), widths)

    assert h.shape == (4, 16, 48)
    assert h_lengths.tolist() == [math.ceil(w / 4) for w in widths.tolist()] == [16, 10, 2, 1]
    assert encoder.output_lengths(widths).tolist() == h_lengths.tolist()
    assert torch.isfinite(h).all()


@pytest.mark.parametrize("width", [1, 3, 4, 5, 30, 61, 128])
def test_a_single_image_yields_exactly_output_lengths_frames(width: int) -> None:
    encoder = tiny_encoder()
    with torch.no_grad():
        h, h_lengths = encoder(images(1, 32, width, seed=width), torch.tensor([width]))
    assert h.shape[1] == int(h_lengths[0]) == math.ceil(width / 4)


def test_every_parameter_learns_from_the_output() -> None:
    encoder = tiny_encoder().train()
    h, _ = encoder(images(2, 40, 32, seed=3), torch.tensor([32, 20]))
    (h ** 2).sum().backward()
    missing = [name for name, p in encoder.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


# ---------------------------------------------------------------- batching and padding invariance


@pytest.mark.parametrize("height", [32, 48])
def test_eval_outputs_of_a_batch_equal_each_image_alone(height: int) -> None:
    encoder = tiny_encoder()
    batch = images(3, height, 96, seed=4)
    widths = torch.full((3,), 96)

    with torch.no_grad():
        h, _ = encoder(batch, widths)
        for b in range(3):
            alone, _ = encoder(batch[b: b + 1], widths[:1])
            torch.testing.assert_close(h[b], alone[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("fill", ["zeros", "garbage"])
@pytest.mark.parametrize("width", [60, 62, 63])
def test_padding_columns_do_not_change_the_valid_frames(width: int, fill: str) -> None:
    """An image padded on the right (with zeros, or with anything), given its true width, must encode
    as it does alone. Widths that are not multiples of 4 matter: the two stride-2 convs of the patch
    embedding reach one column past the end."""
    encoder = tiny_encoder()
    image = images(1, 32, width, seed=width)
    generator = torch.Generator().manual_seed(5)
    padded = torch.zeros(1, 3, 32, 96) if fill == "zeros" else torch.randn(1, 3, 32, 96, generator=generator) * 5
    padded[..., :width] = image

    with torch.no_grad():
        alone, alone_lengths = encoder(image, torch.tensor([width]))
        h, h_lengths = encoder(padded, torch.tensor([width]))

    n = int(alone_lengths[0])
    assert int(h_lengths[0]) == n == alone.shape[1]
    torch.testing.assert_close(h[0, :n], alone[0], rtol=0, atol=1e-4)


def test_recognizer_encodes_each_image_the_same_alone_or_in_a_padded_batch() -> None:
    """The user-level view of the padding test: Recognizer.encode on a right-padded batch of uint8
    images of different widths (the frontend zeroes the padding)."""
    torch.manual_seed(0)
    model = Recognizer(CharTokenizer("abc"), encoder={"name": "vision", **TINY}, heads={"ctc": {}},
                       frontend="image").eval()
    with torch.no_grad():
        for module in model.encoder.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.5)
                module.bias.normal_(0, 0.5)
    generator = torch.Generator().manual_seed(6)
    widths = [96, 62, 49]
    batch = torch.randint(0, 256, (3, 32, 96, 3), dtype=torch.uint8, generator=generator)  # junk padding

    with torch.no_grad():
        h, h_lengths = model.encode(batch, torch.tensor(widths))
        for b, w in enumerate(widths):
            alone, alone_lengths = model.encode(batch[b: b + 1, :, :w], torch.tensor([w]))
            n = int(alone_lengths[0])
            assert int(h_lengths[b]) == n == math.ceil(w / 4)
            torch.testing.assert_close(h[b, :n], alone[0], rtol=0, atol=1e-4,
                                       msg=lambda m, w=w: f"width {w}: {m}")


def test_grown_model_reads_as_before_and_trains_its_new_blocks(tmp_path) -> None:
    """tools/grow_model.py appends blocks (a local one to stage 0, whose local_blocks reach past
    its depth, and a global one to stage 2) that start as identities: the grown model's encoding
    equals the source's, and the new blocks' residual outputs get gradients, so training moves them."""
    from recog.checkpoint import save_model
    from tools.grow_model import grow

    torch.manual_seed(0)
    model = Recognizer(CharTokenizer("abc"), encoder={"name": "vision", **TINY, "local_blocks": [2, 0, 0]},
                       heads={"ctc": {}}, frontend="image").eval()
    save_model(model, tmp_path / "small")
    grown = grow(tmp_path / "small", depths=[2, 1, 2])
    assert grown.encoder.config.depths == [2, 1, 2]
    assert [type(b).__name__ for b in grown.encoder.stages[0]] == ["LocalBlock", "LocalBlock"]
    assert [type(b).__name__ for b in grown.encoder.stages[2]] == ["GlobalBlock", "GlobalBlock"]
    batch = torch.randint(0, 256, (2, 32, 80, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    widths = torch.tensor([80, 57])
    with torch.no_grad():
        before, _ = model.encode(batch, widths)
        after, _ = grown.encode(batch, widths)
    torch.testing.assert_close(after, before, rtol=0, atol=1e-5)

    grown.train()
    out, _ = grown.encode(batch, widths)
    out.square().sum().backward()
    for name, p in grown.named_parameters():
        if name.startswith(("encoder.stages.0.1.", "encoder.stages.2.1.")) and name.endswith("weight") \
                and ("proj" in name or "mlp.3" in name or "mixer" in name):
            assert p.grad is not None and p.grad.abs().sum() > 0, name


# ---------------------------------------------------------------- FRM


def tiny_frm() -> FeatureRearrangement:
    torch.manual_seed(1)
    frm = FeatureRearrangement(dim=16, heads=2).eval()
    with torch.no_grad():
        frm.select.normal_(0, 1.0)
    return frm


def all_valid(batch: int, width: int) -> torch.Tensor:
    return torch.ones(batch, width, dtype=torch.bool)


def test_frm_gives_one_vector_per_column() -> None:
    frm = tiny_frm()
    for height, width in [(1, 1), (2, 7), (4, 16), (8, 3)]:
        with torch.no_grad():
            out = frm(torch.randn(2, 16, height, width), all_valid(2, width))
        assert out.shape == (2, width, 16)


def test_frm_keeps_left_to_right_order_when_columns_are_permuted() -> None:
    """Output position j belongs to input column j: reordering the columns reorders the outputs the
    same way (the FRM itself adds no positions; order comes from where each column sits)."""
    frm = tiny_frm()
    x = torch.randn(2, 16, 4, 9)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(7))

    with torch.no_grad():
        out = frm(x, all_valid(2, 9))
        permuted = frm(x[..., perm], all_valid(2, 9))
        flipped = frm(x.flip(-1), all_valid(2, 9))

    torch.testing.assert_close(permuted, out[:, perm], rtol=0, atol=1e-5)
    torch.testing.assert_close(flipped, out.flip(1), rtol=0, atol=1e-5)
    assert not torch.allclose(flipped, out, atol=1e-3)  # the columns really differ


def test_frm_vertical_step_pools_rows_regardless_of_their_order() -> None:
    frm = tiny_frm()
    x = torch.randn(2, 16, 5, 6)
    perm = torch.tensor([3, 0, 4, 1, 2])

    with torch.no_grad():
        out = frm(x, all_valid(2, 6))
        shuffled = frm(x[:, :, perm], all_valid(2, 6))

    torch.testing.assert_close(shuffled, out, rtol=0, atol=1e-5)


def test_frm_without_row_mixing_maps_column_j_to_output_j_only() -> None:
    frm = tiny_frm()
    with torch.no_grad():
        frm.row_attention.out_proj.weight.zero_()
        frm.row_attention.out_proj.bias.zero_()
    x = torch.randn(1, 16, 4, 8)
    for j in range(8):
        changed = x.clone()
        changed[..., j] = torch.randn(16, 4) * 3
        with torch.no_grad():
            before, after = frm(x, all_valid(1, 8)), frm(changed, all_valid(1, 8))
        moved = (after - before).abs().amax(dim=-1)[0] > 1e-6
        assert moved.tolist() == [k == j for k in range(8)], f"column {j}"


def test_frm_row_attention_mixes_columns_by_design() -> None:
    """The counterpart of the test above: with the row attention on, one column reaches the others."""
    frm = tiny_frm()
    x = torch.randn(1, 16, 4, 8)
    changed = x.clone()
    changed[..., 3] = torch.randn(16, 4) * 3
    with torch.no_grad():
        moved = (frm(changed, all_valid(1, 8)) - frm(x, all_valid(1, 8))).abs().amax(dim=-1)[0] > 1e-6
    assert moved.all()


def test_frm_valid_outputs_ignore_padded_columns() -> None:
    frm = tiny_frm()
    x = torch.randn(2, 16, 3, 10)
    mask = column_mask(torch.tensor([40, 24]), columns=10, stride=4)  # item 1: 6 valid columns
    dirty = x.clone()
    dirty[1, :, :, 6:] = torch.randn(16, 3, 4) * 10

    with torch.no_grad():
        clean_out, dirty_out = frm(x, mask), frm(dirty, mask)
        alone = frm(x[1:, :, :, :6], all_valid(1, 6))

    torch.testing.assert_close(dirty_out[1, :6], clean_out[1, :6], rtol=0, atol=1e-5)
    torch.testing.assert_close(clean_out[1, :6], alone[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(dirty_out[0], clean_out[0], rtol=0, atol=1e-5)
