"""recog.encoders.conformer: output lengths, masking invariance, relative positions, causal convs;
and the Recognizer's waveform-to-encoding path."""

from __future__ import annotations

import math

import pytest
import torch

from recog.encoders.conformer import (
    ConformerEncoder,
    ConvModule,
    ConvSubsampling,
    lengths_to_mask,
    rel_shift,
    relative_positions,
    zero_past,
)
from recog.model import Recognizer
from recog.text import CharTokenizer

TINY = {"feat_in": 80, "d_model": 32, "n_layers": 2, "n_heads": 2, "subsampling_channels": 16, "ff_expansion": 2}
CONFIGS = {
    "offline": {**TINY},
    "streaming": {**TINY, "causal": True, "conv_norm": "layer"},
}


def tiny_encoder(**overrides: object) -> ConformerEncoder:
    torch.manual_seed(0)
    encoder = ConformerEncoder(**{**TINY, **overrides}).eval()
    # Non-trivial biases and norm statistics, so masking mistakes cannot hide behind zeros/identities.
    with torch.no_grad():
        for name, param in encoder.named_parameters():
            if "pos_bias" in name or name.endswith("bias"):
                param.normal_(0, 0.3)
        for module in encoder.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.normal_(0, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return encoder


def pad_batch(items: list[torch.Tensor], fill: str) -> torch.Tensor:
    longest = max(len(x) for x in items)
    shape = (len(items), longest, *items[0].shape[1:])
    generator = torch.Generator().manual_seed(123)
    batch = torch.zeros(shape) if fill == "zeros" else torch.randn(shape, generator=generator) * 5
    for b, x in enumerate(items):
        batch[b, : len(x)] = x
    return batch


def test_output_length_is_ceil_of_a_eighth_of_the_input() -> None:
    encoder = tiny_encoder()
    lengths = torch.arange(1, 42)
    x = torch.randn(len(lengths), int(lengths.max()), 80)

    with torch.no_grad():
        h, h_lengths = encoder(x, lengths)

    expected = [math.ceil(n / 8) for n in lengths.tolist()]
    assert h_lengths.tolist() == expected
    assert encoder.output_lengths(lengths).tolist() == expected
    assert h.shape == (len(lengths), math.ceil(41 / 8), 32)
    assert torch.isfinite(h).all()


@pytest.mark.parametrize("length", [1, 7, 8, 9, 16, 17, 100])
def test_a_single_input_yields_exactly_output_lengths_frames(length: int) -> None:
    encoder = tiny_encoder()
    with torch.no_grad():
        h, h_lengths = encoder(torch.randn(1, length, 80), torch.tensor([length]))
    assert h.shape[1] == int(h_lengths[0]) == math.ceil(length / 8)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_batched_outputs_equal_each_input_run_alone(config: str) -> None:
    encoder = tiny_encoder(**CONFIGS[config])
    generator = torch.Generator().manual_seed(1)
    items = [torch.randn(n, 80, generator=generator) for n in (37, 64, 21)]

    with torch.no_grad():
        h, h_lengths = encoder(pad_batch(items, "zeros"), torch.tensor([len(x) for x in items]))
        for b, x in enumerate(items):
            alone, alone_lengths = encoder(x[None], torch.tensor([len(x)]))
            n = int(alone_lengths[0])
            assert int(h_lengths[b]) == n == alone.shape[1]
            torch.testing.assert_close(h[b, :n], alone[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_garbage_in_padded_frames_does_not_change_valid_outputs(config: str) -> None:
    """Odd lengths matter: the first stride-2 conv's last window reaches one frame past the end."""
    encoder = tiny_encoder(**CONFIGS[config])
    generator = torch.Generator().manual_seed(2)
    items = [torch.randn(n, 80, generator=generator) for n in (37, 64, 21)]
    lengths = torch.tensor([len(x) for x in items])

    with torch.no_grad():
        clean, _ = encoder(pad_batch(items, "zeros"), lengths)
        dirty, h_lengths = encoder(pad_batch(items, "garbage"), lengths)

    for b, n in enumerate(h_lengths.tolist()):
        torch.testing.assert_close(dirty[b, :n], clean[b, :n], rtol=0, atol=1e-5,
                                   msg=lambda m, b=b: f"item {b} (length {len(items[b])}): {m}")


def test_rel_shift_puts_the_score_of_distance_i_minus_j_at_i_j() -> None:
    for t in (1, 2, 5, 8):
        scores = torch.randn(2, 3, t, 2 * t - 1)  # column k holds distance t-1-k
        expected = torch.empty(2, 3, t, t)
        for i in range(t):
            for j in range(t):
                expected[:, :, i, j] = scores[:, :, i, (t - 1) - (i - j)]
        assert torch.equal(rel_shift(scores), expected)


def test_relative_positions_encode_distances_from_t_minus_1_down_to_minus_t_plus_1() -> None:
    pos = relative_positions(5, 16, torch.device("cpu"))
    assert pos.shape == (9, 16)
    centre = pos[4]  # distance 0: sin 0 = 0, cos 0 = 1
    assert torch.equal(centre[0::2], torch.zeros(8)) and torch.equal(centre[1::2], torch.ones(8))
    torch.testing.assert_close(pos[0, 0], torch.sin(torch.tensor(4.0)))  # first row: distance +4
    torch.testing.assert_close(pos[-1, 0], torch.sin(torch.tensor(-4.0)))  # last row: distance -4


def conv_module(causal: bool, norm: str = "layer", kernel: int = 9) -> ConvModule:
    torch.manual_seed(0)
    module = ConvModule(d_model=16, kernel=kernel, norm=norm, causal=causal).eval()
    with torch.no_grad():
        for param in module.parameters():
            param.normal_(0, 0.5)
    return module


def outputs_before_and_after_changing_the_tail(module: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """The module's outputs on 30 random frames, and on the same frames with the last 5 changed."""
    x = torch.randn(2, 30, 16)
    changed = x.clone()
    changed[:, 25:] = torch.randn(2, 5, 16) * 3
    mask = torch.ones(2, 30, dtype=torch.bool)
    with torch.no_grad():
        return module(x, mask), module(changed, mask)


def test_causal_conv_module_outputs_do_not_depend_on_later_frames() -> None:
    before, after = outputs_before_and_after_changing_the_tail(conv_module(causal=True))

    assert torch.equal(before[:, :25], after[:, :25])
    assert not torch.allclose(before[:, 25:], after[:, 25:])


def test_non_causal_conv_module_looks_ahead_half_a_kernel() -> None:
    """The counterpart of the causal test: the same change does reach earlier outputs here."""
    before, after = outputs_before_and_after_changing_the_tail(conv_module(causal=False))

    assert torch.equal(before[:, :21], after[:, :21])  # kernel 9 reaches 4 frames ahead
    assert not torch.allclose(before[:, 21:25], after[:, 21:25])


def test_conv_module_rejects_an_unknown_norm() -> None:
    with pytest.raises(ValueError, match="group"):
        ConvModule(d_model=16, kernel=3, norm="group", causal=False)


# ---------------------------------------------------------------- Recognizer.encode


def tiny_recognizer() -> Recognizer:
    torch.manual_seed(0)
    encoder = {"name": "conformer", **TINY, "dropout": 0.0, "dropout_att": 0.0}
    model = Recognizer(CharTokenizer("abc "), encoder=encoder, heads={"ctc": {"weight": 1.0}},
                       spec_augment={"freq_masks": 2, "freq_width": 15, "time_masks": 5, "time_width": 0.05})
    return model.eval()


def test_recognizer_encodes_each_waveform_the_same_alone_or_in_a_padded_batch() -> None:
    model = tiny_recognizer()
    generator = torch.Generator().manual_seed(3)
    sizes = [5_123, 16_000, 2_900]  # odd feature lengths: 33, 101, 19 frames
    waves = [torch.randn(n, generator=generator) * 0.2 for n in sizes]
    batch = torch.randn(len(sizes), max(sizes), generator=generator) * 10  # garbage padding

    for b, w in enumerate(waves):
        batch[b, : len(w)] = w
    with torch.no_grad():
        h, h_lengths = model.encode(batch, torch.tensor(sizes))
        for b, w in enumerate(waves):
            alone, alone_lengths = model.encode(w[None], torch.tensor([len(w)]))
            n = int(alone_lengths[0])
            assert int(h_lengths[b]) == n == alone.shape[1] == math.ceil((len(w) // 160 + 1) / 8)
            torch.testing.assert_close(h[b, :n], alone[0], rtol=0, atol=1e-5)


def test_recognizer_frame_duration_is_80ms() -> None:
    assert tiny_recognizer().frame_seconds == pytest.approx(0.08)


def test_zero_past_in_place_equals_the_mask_multiply() -> None:
    """Inference zeroes the padded tails in place; training multiplies by the mask: same values."""
    x = torch.randn(4, 3, 7, 5)
    lengths = torch.tensor([7, 0, 3, 9])
    expected = x * (torch.arange(7)[None, :] < lengths[:, None])[:, None, :, None]
    with torch.no_grad():
        y = x.clone()
        assert zero_past(y, lengths, 2) is y  # written in place, no copy
    assert torch.equal(y, expected)
    trained = x.clone().requires_grad_()
    assert torch.equal(zero_past(trained, lengths, 2), expected)
    assert torch.equal(zero_past(x.transpose(1, 2).clone(), lengths, 1), expected.transpose(1, 2))


@pytest.mark.parametrize("causal", [False, True])
def test_the_subsampling_first_conv_as_a_patch_matmul_equals_the_convolution(causal: bool) -> None:
    """The first stage runs as a matmul over 3x3 patches except under export, which traces
    the convolution: both give the same frames, and the depthwise stages after it see a
    channels-last tensor."""
    torch.manual_seed(0)
    sub = ConvSubsampling(80, 32, 16, causal=causal, factor=8).eval()
    x, lengths = torch.randn(3, 101, 80), torch.tensor([101, 64, 9])
    padded = torch.nn.functional.pad(x[:, None], (1, 1, 2, 0) if causal else (1, 1, 1, 1))
    stage_lengths = sub.conv_lengths(lengths)
    with torch.no_grad():
        fast = sub._stage(0, padded, stage_lengths)
        assert fast.is_contiguous(memory_format=torch.channels_last)
        conv = torch.relu(sub.stages[0](padded)) * lengths_to_mask(stage_lengths, fast.shape[2])[:, None, :, None]
        torch.testing.assert_close(fast, conv, rtol=1e-5, atol=1e-5)
        out, out_lengths = sub(x, lengths)
    assert out_lengths.tolist() == [13, 8, 2]
    torch.testing.assert_close(sub(x, lengths)[0], out, rtol=0, atol=0)  # with autograd: the masks multiply
    alone = sub(x[2:, :9], lengths[2:])[0]
    torch.testing.assert_close(out[2:, :2], alone, rtol=1e-5, atol=1e-5)


def test_a_grown_conformer_keeps_the_trained_layers_and_its_new_blocks_add_nothing_until_trained(tmp_path) -> None:
    """tools/grow_model.py --insert-after: each new block is a copy of the layer it follows with its
    residual branches zeroed, so its output is its input through the copied output LayerNorm; the
    trained layers keep their weights in their new places; the zeroed layers get gradients."""
    from recog.checkpoint import save_model
    from tools.grow_model import grow

    encoder = tiny_encoder(causal=True, conv_norm="layer", n_layers=3)
    model = Recognizer(CharTokenizer("abc"), encoder={"name": "conformer", **TINY, "causal": True,
                                                      "conv_norm": "layer", "n_layers": 3}, heads={"ctc": {}})
    model.encoder.load_state_dict(encoder.state_dict())
    save_model(model.eval(), tmp_path / "small")
    grown = grow(tmp_path / "small", insert_after=[0, 2, 2])
    layers = grown.encoder.layers
    assert len(layers) == 6
    for j, i in enumerate([0, 0, 1, 2, 2, 2]):  # the source layer each grown layer copies
        for (name, p), q in zip(layers[j].state_dict().items(), encoder.layers[i].state_dict().values(), strict=True):
            if j in (1, 4, 5) and name.rsplit(".", 1)[0] in ("ff1.4", "att.out", "conv.pointwise2", "ff2.4"):
                assert not p.any(), (j, name)
            else:
                assert torch.equal(p, q), (j, name)

    x = torch.randn(2, 50, 80, generator=torch.Generator().manual_seed(2))
    lengths = torch.tensor([50, 33])
    seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [layers[j].register_forward_hook(lambda m, args, out, j=j: seen.__setitem__(j, (args[0], out)))
             for j in (1, 4)]
    with torch.no_grad():
        grown.encoder(x, lengths)
    for hook in hooks:
        hook.remove()
    for j in (1, 4):
        block_in, block_out = seen[j]
        torch.testing.assert_close(block_out, layers[j].norm_out(block_in), rtol=0, atol=1e-6)

    grown.train()
    out, _ = grown.encoder(x, lengths)
    out.square().sum().backward()
    for j in (1, 4, 5):
        for layer in (layers[j].ff1[4], layers[j].att.out, layers[j].conv.pointwise2, layers[j].ff2[4]):
            assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0, j
