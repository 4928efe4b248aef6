"""recog.heads.parallel (CPPD): counting and ordering targets, shapes, learning, decoding; and
recog.heads.guidance (SGM): context windows, a loss that trains the encoder, no decoding, and a
Recognizer that never runs it at inference."""

from __future__ import annotations

import math

import pytest
import torch

from recog.heads.guidance import SemanticGuidanceHead, context_windows
from recog.heads.parallel import IGNORE, ParallelHead, counting_targets, ordering_targets, token_indices
from recog.model import Recognizer
from recog.text import CharTokenizer
from tests.helpers import train_head

TOKENIZER = CharTokenizer("abcehlo")  # 0 blank, 1 unk, a=2 b=3 c=4 e=5 h=6 l=7 o=8
V = TOKENIZER.vocab_size


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def batch_of(*texts: str) -> tuple[torch.Tensor, torch.Tensor]:
    ids = [TOKENIZER.encode(t) for t in texts]
    longest = max(len(x) for x in ids)
    targets = torch.tensor([x + [0] * (longest - len(x)) for x in ids], dtype=torch.long)
    return targets, torch.tensor([len(x) for x in ids])


def test_tokenizer_ids_used_below() -> None:
    assert V == 9
    assert TOKENIZER.encode("hello") == [6, 5, 7, 7, 8]
    assert TOKENIZER.encode("abc") == [2, 3, 4]


# ---------------------------------------------------------------- targets


def test_counting_targets_count_each_character_and_the_end_once() -> None:
    targets, lengths = batch_of("hello", "abc")

    counts = counting_targets(targets, lengths, V, max_count=8)

    assert counts.shape == (2, V)
    #                         0  unk a  b  c  e  h  l  o
    assert counts.tolist() == [[1, 0, 0, 0, 0, 1, 1, 2, 1],
                               [1, 0, 1, 1, 1, 0, 0, 0, 0]]  # padding adds nothing to id 0


def test_counting_targets_are_capped_at_max_count() -> None:
    targets, lengths = batch_of("hello", "lllll")
    counts = counting_targets(targets, lengths, V, max_count=2)
    assert counts[0].tolist() == [1, 0, 0, 0, 0, 1, 1, 2, 1]
    assert counts[1, 7] == 2
    assert counts.max() <= 2


def test_ordering_targets_are_the_ids_then_the_end_then_ignore() -> None:
    targets, lengths = batch_of("hello", "abc", "")

    order = ordering_targets(targets, lengths, max_len=7)

    assert order.tolist() == [[6, 5, 7, 7, 8, 0, IGNORE, IGNORE],
                              [2, 3, 4, 0, IGNORE, IGNORE, IGNORE, IGNORE],
                              [0, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE]]


def test_ordering_targets_of_a_text_of_exactly_max_len_end_at_the_last_slot() -> None:
    targets, lengths = batch_of("hello")
    assert ordering_targets(targets, lengths, max_len=5).tolist() == [[6, 5, 7, 7, 8, 0]]


# ---------------------------------------------------------------- ParallelHead


def tiny_head(seed: int = 0, **overrides: object) -> ParallelHead:
    torch.manual_seed(seed)
    options = {"d_model": 32, "vocab_size": V, "max_len": 8, "max_count": 4, "layers": 1, "heads": 2, "dropout": 0.0}
    return ParallelHead(**{**options, **overrides})


def encoder_output(batch: int = 2, frames: int = 12, dim: int = 32, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, frames, dim, generator=torch.Generator().manual_seed(seed))


def test_forward_shapes() -> None:
    head = tiny_head().eval()
    h = encoder_output(3, 12)

    count_logits, order_logits, attention, fire = head(h, torch.tensor([12, 7, 1]))

    assert count_logits.shape == (3, V, 5)
    assert order_logits.shape == (3, 9, V)
    assert attention.shape == (3, 9, 12)
    torch.testing.assert_close(attention.sum(-1), torch.ones(3, 9))
    assert (attention[1, :, 7:] == 0).all() and (attention[2, :, 1:] == 0).all()  # padded frames unseen
    assert fire is None  # index_positions off


def test_decoding_skips_the_character_nodes_in_the_last_layer_without_changing_the_positions() -> None:
    head = tiny_head().eval()
    with torch.no_grad():
        for p in head.parameters():  # larger weights, so a wrong shortcut shows
            p.add_(torch.randn_like(p) * 0.2)
    h, lengths = encoder_output(3, 12), torch.tensor([12, 7, 1])
    counts, full, full_attention, _ = head(h, lengths)
    none, short, short_attention, _ = head(h, lengths, count=False)
    assert none is None and counts is not None
    torch.testing.assert_close(short, full, rtol=0, atol=1e-5)
    torch.testing.assert_close(short_attention, full_attention, rtol=0, atol=1e-6)


def test_inference_shares_the_input_free_queries_and_matches_the_per_input_training_path() -> None:
    """At inference the nodes enter the first layer once (batch 1), broadcast over the inputs; in
    training every input gets its own copy (for dropout). Without dropout both give the same."""
    torch.manual_seed(1)
    head = ParallelHead(d_model=32, vocab_size=V, max_len=8, max_count=4, layers=2, heads=2, dropout=0.0,
                        index_positions=True)
    with torch.no_grad():
        for p in head.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    h, lengths = encoder_output(3, 12), torch.tensor([12, 7, 1])
    batches = []  # the query batch the first layer's self-attention sees
    head.layers[0].self_attention.register_forward_pre_hook(lambda _, args: batches.append(args[0].shape[0]))
    per_input = [t for t in head.train()(h, lengths) if t is not None]
    shared = [t for t in head.eval()(h, lengths) if t is not None]
    assert batches == [3, 1]
    for a, b in zip(per_input, shared, strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-5)


def test_broadcast_cross_attention_equals_the_modules_own() -> None:
    torch.manual_seed(2)
    layer = ParallelHead(d_model=16, vocab_size=V, max_len=8, layers=1, heads=2).layers[0].eval()
    x, memory = torch.randn(1, 5, 16), torch.randn(3, 9, 16)
    pad = torch.arange(9)[None, :] >= torch.tensor([9, 4, 1])[:, None]
    ours, our_weights = layer._cross_attend(x, memory, pad, need_weights=True)
    theirs, their_weights = layer.cross_attention(x.expand(3, -1, -1), memory, memory, key_padding_mask=pad)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    torch.testing.assert_close(our_weights, their_weights, rtol=0, atol=1e-6)
    torch.testing.assert_close(layer._cross_attend(x, memory, pad, need_weights=False)[0], theirs, rtol=0, atol=1e-5)


def test_loss_is_finite_and_falls_over_30_adam_steps() -> None:
    head = tiny_head()
    targets, target_lengths = batch_of("hello", "abc")

    losses = train_head(head, encoder_output(), torch.tensor([12, 7]), targets, target_lengths, steps=30)

    assert losses[0] > 0
    assert losses[-1] < 0.5 * losses[0]


def test_loss_ignores_padded_encoder_frames() -> None:
    head = tiny_head().eval()
    targets, target_lengths = batch_of("hello", "abc")
    h = encoder_output()
    dirty = h.clone()
    dirty[1, 7:] = 100.0
    lengths = torch.tensor([12, 7])
    torch.testing.assert_close(head.loss(dirty, lengths, targets, target_lengths),
                               head.loss(h, lengths, targets, target_lengths))


def test_an_overfit_head_decodes_exactly_the_targets_with_timestamps_inside_each_input() -> None:
    head = tiny_head()
    targets, target_lengths = batch_of("hello", "abc")
    h, h_lengths = encoder_output(), torch.tensor([12, 7])
    train_head(head, h, h_lengths, targets, target_lengths, steps=120)

    hyps = head.eval().decode(h, h_lengths)

    assert [hyp.tokens for hyp in hyps] == [TOKENIZER.encode("hello"), TOKENIZER.encode("abc")]
    for hyp, frames in zip(hyps, h_lengths.tolist(), strict=True):
        assert len(hyp.timestamps) == len(hyp.tokens) == len(hyp.token_confidences)
        assert all(0 <= t < frames for t in hyp.timestamps)
        assert all(0 < c <= 1 for c in hyp.token_confidences)
        assert 0 < hyp.confidence <= 1 and hyp.score <= 0


def scripted_head(order_ids: list[int], frames: list[int], total_frames: int = 10) -> ParallelHead:
    """A head whose forward returns confident order logits for ``order_ids`` (one per position) and
    attention peaking at ``frames``."""
    head = tiny_head(max_len=len(order_ids) - 1).eval()
    order = torch.zeros(1, len(order_ids), V)
    order[0, torch.arange(len(order_ids)), torch.tensor(order_ids)] = 3.0
    weights = torch.full((1, len(order_ids), total_frames), 0.01)
    weights[0, torch.arange(len(order_ids)), torch.tensor(frames)] = 0.9

    def forward(h: torch.Tensor, h_lengths: torch.Tensor, count: bool = True
                ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
        return (torch.zeros(1, V, head.max_count + 1) if count else None), order, weights, None

    head.forward = forward  # type: ignore[method-assign]
    return head


def test_decode_stops_at_the_first_end_and_scores_the_tokens_and_that_end() -> None:
    head = scripted_head([3, 4, 0, 5, 0, 6], frames=[2, 5, 7, 1, 1, 1])

    [hyp] = head.decode(torch.zeros(1, 10, 32), torch.tensor([10]))

    p = math.exp(3) / (math.exp(3) + V - 1)  # about 0.72
    assert hyp.tokens == [3, 4]
    assert hyp.timestamps == [2, 5]
    assert hyp.token_confidences == pytest.approx([p, p])
    assert hyp.score == pytest.approx(3 * math.log(p), abs=1e-5)  # two tokens and the end
    assert hyp.confidence == pytest.approx(p, abs=1e-5)


def test_decode_of_an_immediate_end_is_empty() -> None:
    head = scripted_head([0, 3, 4], frames=[0, 0, 0])
    [hyp] = head.decode(torch.zeros(1, 10, 32), torch.tensor([10]))
    assert hyp.tokens == [] and hyp.timestamps == [] and hyp.token_confidences == []


def test_decode_never_outputs_more_than_max_len_tokens() -> None:
    """max_len is the longest text the head can output. When no position predicts the end, the
    last slot (which exists only to hold the end of a max_len-long text) must not become a token."""
    head = tiny_head(max_len=4).eval()
    with torch.no_grad():
        head.order_out.bias[0] = -1e4  # the end is never the argmax

    [hyp] = head.decode(encoder_output(1, 6), torch.tensor([6]))

    assert len(hyp.tokens) <= 4
    assert len(hyp.timestamps) == len(hyp.token_confidences) == len(hyp.tokens)
    assert hyp.confidence == pytest.approx(math.exp(sum(math.log(c) for c in hyp.token_confidences)
                                                    / len(hyp.token_confidences)), rel=1e-5)


def test_batched_decode_equals_decoding_each_input_alone() -> None:
    head = tiny_head(seed=3).eval()
    with torch.no_grad():  # sharper, more varied outputs than a fresh init gives
        for p in head.parameters():
            p.normal_(0, 0.3)
    h = encoder_output(3, 12, seed=4) * 3
    lengths = torch.tensor([12, 5, 9])
    h[1, 5:] = 50.0  # junk in padded frames

    batched = head.decode(h, lengths)

    assert {len(hyp.tokens) for hyp in batched} != {0}  # something to compare
    for b, n in enumerate(lengths.tolist()):
        [alone] = head.decode(h[b: b + 1, :n], torch.tensor([n]))
        assert batched[b].tokens == alone.tokens
        assert batched[b].timestamps == alone.timestamps
        assert batched[b].score == pytest.approx(alone.score, abs=1e-4)


# ---------------------------------------------------------------- index positions


def test_token_indices_count_the_fire_weights_to_each_frames_centre() -> None:
    weights = torch.tensor([[0.0, 1.0, 0.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5, 0.0, 0.0]])

    indices = token_indices(weights, torch.tensor([2, 1]))

    # line 0: the frames of token 0 and 1 sit at 0.5 and 1.5, silent frames between the tokens
    # line 1: four halves scaled to one token; its padded frames stay at the count
    torch.testing.assert_close(indices, torch.tensor([[0.0, 0.5, 1.0, 1.0, 1.5, 2.0],
                                                      [0.125, 0.375, 0.625, 0.875, 1.0, 1.0]]))


def test_fire_weights_ignore_padded_frames_and_learn_the_token_count() -> None:
    head = tiny_head(index_positions=True)
    targets, target_lengths = batch_of("hello", "abc")
    h, h_lengths = encoder_output(), torch.tensor([12, 7])
    dirty = h.clone()
    dirty[1, 7:] = 100.0
    pad = torch.arange(12)[None, :] >= h_lengths[:, None]
    torch.testing.assert_close(head.fire_weights(dirty, pad), head.fire_weights(h, pad))
    assert (head.fire_weights(h, pad)[1, 7:] == 0).all()

    train_head(head, h, h_lengths, targets, target_lengths, steps=120)

    *_, fire = head.eval()(h, h_lengths)
    torch.testing.assert_close(fire.sum(dim=1), target_lengths.float(), rtol=0, atol=0.3)


def shifted_lines(count: int, seed: int, dim: int = 32) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """Hand-made encoder outputs of text lines: each character one to three frames of its own
    vector, a random number of blank frames before the text and between characters, so the k-th
    character's frame differs from line to line."""
    import random

    rng = random.Random(seed)
    vectors = torch.randn(V, dim, generator=torch.Generator().manual_seed(99))  # the same in every call
    texts, lines = [], []
    for _ in range(count):
        text = "".join(rng.choice("abcehlo") for _ in range(rng.randint(1, 8)))
        frames = [vectors[0]] * rng.randint(0, 6)
        for ch in text:
            frames += [vectors[TOKENIZER.encode(ch)[0]]] * rng.randint(1, 3) + [vectors[0]] * rng.randint(0, 2)
        texts.append(text)
        lines.append(torch.stack(frames))
    h = torch.nn.utils.rnn.pad_sequence(lines, batch_first=True)
    return texts, h, torch.tensor([len(x) for x in lines])


def test_index_positions_read_unseen_shifted_lines_that_absolute_positions_cannot() -> None:
    """Both heads fit 256 shifted lines; on 64 new ones, absolute frame positions leave the
    position nodes lost (the k-th character is anywhere), the frames' token indices do not."""
    texts, h, h_lengths = shifted_lines(256, seed=0)
    targets, target_lengths = batch_of(*texts)
    new_texts, new_h, new_lengths = shifted_lines(64, seed=1)
    read = {}
    for index_positions in (False, True):
        head = tiny_head(index_positions=index_positions)
        train_head(head, h, h_lengths, targets, target_lengths, steps=200)
        hyps = head.eval().decode(new_h, new_lengths)
        read[index_positions] = sum(TOKENIZER.decode(hyp.tokens) == text
                                    for hyp, text in zip(hyps, new_texts, strict=True))

    assert read[True] >= 32 and read[True] >= 2 * read[False], read


# ---------------------------------------------------------------- SGM


def test_context_windows_hold_the_neighbours_with_pad_outside_the_text() -> None:
    targets = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 7]])  # item 1 has length 2: its 7s are padding
    left, right = context_windows(targets, torch.tensor([4, 2]), window=2, pad_id=9)

    assert left.shape == right.shape == (2, 4, 2)
    assert left[0].tolist() == [[9, 9], [9, 1], [1, 2], [2, 3]]
    assert right[0].tolist() == [[2, 3], [3, 4], [4, 9], [9, 9]]
    assert left[1, :2].tolist() == [[9, 9], [9, 5]]
    assert right[1, :2].tolist() == [[6, 9], [9, 9]]  # the padding never shows up as context


def tiny_sgm() -> SemanticGuidanceHead:
    torch.manual_seed(0)
    return SemanticGuidanceHead(d_model=32, vocab_size=V, window=3, heads=2, dropout=0.0)


def test_sgm_loss_is_finite_and_trains_the_encoder_output_but_not_its_padding() -> None:
    head = tiny_sgm()
    targets, target_lengths = batch_of("hello", "abc")
    h = encoder_output().requires_grad_(True)

    loss = head.loss(h, torch.tensor([12, 7]), targets, target_lengths)
    loss.backward()

    assert torch.isfinite(loss) and loss > 0
    assert h.grad is not None
    assert h.grad[0].abs().sum() > 0 and h.grad[1, :7].abs().sum() > 0
    assert (h.grad[1, 7:] == 0).all()


def test_sgm_loss_of_a_batch_with_only_empty_texts_is_finite() -> None:
    """Text lines may have empty transcripts (blank images); a batch of only those must not crash
    or poison training with NaN."""
    head = tiny_sgm()
    h = encoder_output()
    empty, empty_lengths = torch.zeros(2, 0, dtype=torch.long), torch.tensor([0, 0])

    loss = head.loss(h, torch.tensor([12, 7]), empty, empty_lengths)

    assert torch.isfinite(loss)


def test_sgm_cannot_decode() -> None:
    with pytest.raises(ValueError, match="training only"):
        tiny_sgm().decode(encoder_output(), torch.tensor([12, 7]))


VISION = {"name": "vision", "dims": [16, 32, 48], "depths": [1, 1, 1], "local_blocks": [1, 0, 0], "n_heads": [1, 2, 2]}
SGM = {"weight": 0.1, "window": 2, "heads": 2, "dropout": 0.0}


def ocr_recognizer(heads: dict[str, dict]) -> Recognizer:
    torch.manual_seed(0)
    return Recognizer(CharTokenizer("abc"), encoder=VISION, heads=heads, frontend="image")


def line_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (2, 32, 64, 3), dtype=torch.uint8, generator=generator), torch.tensor([64, 40])


@pytest.mark.parametrize("order", [["ctc", "sgm"], ["sgm", "ctc"]])
def test_recognizer_decodes_with_ctc_and_never_runs_the_sgm(order: list[str], monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    heads = {"ctc": {"weight": 1.0}, "sgm": SGM}
    model = ocr_recognizer({name: heads[name] for name in order}).eval()
    assert model.default_head == "ctc"
    assert model.decoding_heads == ["ctc"]

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the SGM ran at inference")

    monkeypatch.setattr(SemanticGuidanceHead, "forward", fail)
    monkeypatch.setattr(SemanticGuidanceHead, "loss", fail)
    monkeypatch.setattr(SemanticGuidanceHead, "_query", fail)
    images, widths = line_batch()

    hyps = model.recognize(images, widths)

    assert len(hyps) == 2
    assert all(isinstance(hyp.text, str) for hyp in hyps)
    assert all(0 <= t < math.ceil(w / 4) for hyp, w in zip(hyps, widths.tolist(), strict=True)
               for t in hyp.timestamps)


def test_recognizer_refuses_to_decode_with_the_sgm() -> None:
    model = ocr_recognizer({"ctc": {}, "sgm": SGM}).eval()
    images, widths = line_batch()
    with pytest.raises(ValueError, match="sgm"):
        model.recognize(images, widths, head="sgm")


def test_recognizer_training_loss_includes_the_weighted_sgm_loss() -> None:
    model = ocr_recognizer({"ctc": {"weight": 1.0}, "sgm": SGM}).train()
    images, widths = line_batch()
    targets, target_lengths = torch.tensor([[2, 3, 4], [4, 4, 0]]), torch.tensor([3, 2])

    losses = model(images, widths, targets, target_lengths)

    assert set(losses) == {"loss", "loss_ctc", "loss_sgm"}
    assert all(torch.isfinite(v) for v in losses.values())
    torch.testing.assert_close(losses["loss"], losses["loss_ctc"] + 0.1 * losses["loss_sgm"])
    losses["loss"].backward()
    assert model.heads["sgm"].out.weight.grad is not None


def test_a_recognizer_with_only_the_sgm_is_refused() -> None:
    with pytest.raises(ValueError, match="decode"):
        ocr_recognizer({"sgm": SGM})
