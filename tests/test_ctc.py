"""recog.heads.ctc: greedy decoding, prefix beam search (checked against exhaustive enumeration)
and the CTC loss."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recog.decoding.ctc import greedy_decode, prefix_beam_search
from recog.heads.ctc import CTCHead

BLANK, A, B = 0, 1, 2


def posteriors(best: list[int], vocab: int = 3, p_best: float = 0.7) -> torch.Tensor:
    """(T, V) log-probabilities whose per-frame argmax is ``best`` with probability ``p_best``."""
    probs = torch.full((len(best), vocab), (1 - p_best) / (vocab - 1))
    probs[torch.arange(len(best)), torch.tensor(best)] = p_best
    return probs.log()


def collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(token for token, _ in itertools.groupby(path) if token != BLANK)


def exhaustive_prefix_log_probs(log_probs: np.ndarray) -> dict[tuple[int, ...], float]:
    """log P(labels) for every label sequence, summing all V^T paths that collapse to it."""
    frames, vocab = log_probs.shape
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(vocab), repeat=frames):
        lp = float(sum(log_probs[t, c] for t, c in enumerate(path)))
        labels = collapse(path)
        totals[labels] = float(np.logaddexp(totals.get(labels, -np.inf), lp))
    return totals


# ---------------------------------------------------------------- greedy


def test_greedy_collapses_repeats_drops_blanks_and_stamps_the_first_frame_of_each_run() -> None:
    lp = posteriors([A, A, BLANK, A, B, B, BLANK])

    [hyp] = greedy_decode(lp[None], torch.tensor([7]))

    assert hyp.tokens == [A, A, B]  # a blank separates the two a's
    assert hyp.timestamps == [0, 3, 4]
    assert hyp.token_confidences == pytest.approx([0.7, 0.7, 0.7])
    assert hyp.score == pytest.approx(7 * math.log(0.7), abs=1e-5)
    assert hyp.confidence == pytest.approx(0.7, abs=1e-6)


def test_greedy_stops_at_each_utterance_length() -> None:
    lp = posteriors([A, A, BLANK, A, B, B, BLANK])
    batch = lp[None].repeat(4, 1, 1)

    hyps = greedy_decode(batch, torch.tensor([7, 4, 3, 0]))

    assert [h.tokens for h in hyps] == [[A, A, B], [A, A], [A], []]
    assert [h.timestamps for h in hyps] == [[0, 3, 4], [0, 3], [0], []]
    assert hyps[1].score == pytest.approx(4 * math.log(0.7), abs=1e-5)
    assert hyps[3].score == 0.0


def test_greedy_of_all_blanks_is_empty() -> None:
    [hyp] = greedy_decode(posteriors([BLANK] * 5)[None], torch.tensor([5]))
    assert hyp.tokens == [] and hyp.timestamps == []
    assert hyp.confidence == pytest.approx(0.7, abs=1e-6)


# ---------------------------------------------------------------- prefix beam search


def test_beam_search_finds_the_likeliest_labels_where_the_best_path_is_blank() -> None:
    """Two frames of P(blank)=0.5, P(a)=0.4, P(b)=0.1: the best path is blank-blank (0.25, empty
    output), but 'a' has P = 0.4*0.4 + 0.4*0.5 + 0.5*0.4 = 0.56."""
    lp = np.log(np.array([[0.5, 0.4, 0.1], [0.5, 0.4, 0.1]]))

    greedy = greedy_decode(torch.tensor(lp)[None], torch.tensor([2]))[0]
    beam = prefix_beam_search(lp, beam=3)

    assert greedy.tokens == []
    assert beam.tokens == [A]
    assert beam.score == pytest.approx(math.log(0.56), abs=1e-9)
    assert len(beam.timestamps) == 1 and 0 <= beam.timestamps[0] <= 1


@pytest.mark.parametrize("seed", range(12))
def test_beam_search_equals_exhaustive_enumeration_on_a_tiny_example(seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (4, 3))
    lp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    totals = exhaustive_prefix_log_probs(lp)
    best_labels = max(totals, key=totals.get)

    hyp = prefix_beam_search(lp, beam=64)  # wide enough to keep every prefix: exact search

    assert tuple(hyp.tokens) == best_labels
    assert hyp.score == pytest.approx(totals[best_labels], abs=1e-6)
    assert math.isclose(sum(math.exp(v) for v in totals.values()), 1.0, abs_tol=1e-9)  # sanity of the oracle
    # The same number is what CTC loss assigns to that label sequence.
    if best_labels:
        nll = F.ctc_loss(torch.tensor(lp)[:, None], torch.tensor([best_labels]), torch.tensor([4]),
                         torch.tensor([len(best_labels)]), reduction="sum")
        assert -float(nll) == pytest.approx(hyp.score, abs=1e-6)


CONFIDENT_PATH = [A, A, BLANK, B, BLANK, BLANK, A, B, B, BLANK]


def test_narrow_beam_finds_the_same_tokens_as_greedy_on_confident_posteriors() -> None:
    lp = posteriors(CONFIDENT_PATH, vocab=5, p_best=0.95)

    hyp = prefix_beam_search(lp.numpy(), beam=4)

    assert hyp.tokens == greedy_decode(lp[None], torch.tensor([10]))[0].tokens == [A, B, A, B]


def test_beam_timestamps_are_the_frames_where_the_likely_alignment_emits_each_token() -> None:
    """A token spoken at frame 3 must not be stamped at frame 1 just because some unlikely path
    already emitted it there (timestamps become seconds in every beam-search transcript)."""
    lp = posteriors(CONFIDENT_PATH, vocab=5, p_best=0.95)

    hyp = prefix_beam_search(lp.numpy(), beam=4)

    assert hyp.tokens == [A, B, A, B]
    assert hyp.timestamps == greedy_decode(lp[None], torch.tensor([10]))[0].timestamps == [0, 3, 6, 7]
    assert hyp.token_confidences == pytest.approx([0.95] * 4, abs=1e-6)


# ---------------------------------------------------------------- CTCHead


def test_head_outputs_log_probabilities_over_the_vocabulary() -> None:
    head = CTCHead(d_model=8, vocab_size=5)
    log_probs = head(torch.randn(2, 6, 8))
    assert log_probs.shape == (2, 6, 5)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 6))


def test_head_decode_with_a_beam_matches_prefix_beam_search_per_utterance() -> None:
    torch.manual_seed(0)
    head = CTCHead(d_model=8, vocab_size=4)
    h, lengths = torch.randn(3, 9, 8) * 3, torch.tensor([9, 5, 2])

    greedy = head.decode(h, lengths, beam=1)
    beamed = head.decode(h, lengths, beam=8)

    with torch.no_grad():
        log_probs = head(h)
    assert [g.tokens for g in greedy] == [g.tokens for g in greedy_decode(log_probs, lengths)]
    for b, n in enumerate(lengths.tolist()):
        expected = prefix_beam_search(log_probs[b, :n].numpy(), beam=8)
        assert beamed[b].tokens == expected.tokens
        assert beamed[b].score == pytest.approx(expected.score)
        assert beamed[b].score >= greedy[b].score - 1e-6  # a prefix is at least as likely as its best path


def test_loss_is_the_summed_ctc_loss_averaged_over_the_batch() -> None:
    torch.manual_seed(0)
    head = CTCHead(d_model=8, vocab_size=6)
    h = torch.randn(3, 12, 8)
    h_lengths = torch.tensor([12, 9, 6])
    targets = torch.tensor([[1, 2, 3, 2], [4, 4, 0, 0], [5, 0, 0, 0]])
    target_lengths = torch.tensor([4, 2, 1])

    loss = head.loss(h, h_lengths, targets, target_lengths)

    per_utterance = F.ctc_loss(head(h).transpose(0, 1), targets, h_lengths, target_lengths, reduction="none")
    torch.testing.assert_close(loss, per_utterance.sum() / 3)


def test_loss_equals_minus_log_of_all_paths_to_the_target_and_ignores_padded_frames() -> None:
    torch.manual_seed(1)
    head = CTCHead(d_model=4, vocab_size=3)
    h = torch.randn(2, 4, 4)
    h[1, 3] = 100.0  # a padded frame: must not matter
    h_lengths, targets, target_lengths = torch.tensor([4, 3]), torch.tensor([[1, 2], [2, 0]]), torch.tensor([2, 1])

    loss = head.loss(h, h_lengths, targets, target_lengths)

    lp = head(h).detach().double().numpy()
    nll = [-exhaustive_prefix_log_probs(lp[0, :4])[(1, 2)], -exhaustive_prefix_log_probs(lp[1, :3])[(2,)]]
    assert loss.item() == pytest.approx(sum(nll) / 2, abs=1e-5)


def test_loss_is_finite_and_one_adam_step_lowers_it() -> None:
    torch.manual_seed(2)
    head = CTCHead(d_model=16, vocab_size=10)
    h = torch.randn(4, 30, 16)
    h_lengths = torch.tensor([30, 25, 20, 12])
    targets = torch.randint(1, 10, (4, 6))
    target_lengths = torch.tensor([6, 5, 4, 3])
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)

    before = head.loss(h, h_lengths, targets, target_lengths)
    assert torch.isfinite(before) and before > 0
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    after = head.loss(h, h_lengths, targets, target_lengths)

    assert torch.isfinite(after)
    assert after < before


def test_an_impossible_target_adds_zero_instead_of_infinity() -> None:
    head = CTCHead(d_model=4, vocab_size=3)
    h = torch.randn(2, 3, 4)
    # Item 1: "1 1" needs three frames (1 _ 1) but has only two.
    loss = head.loss(h, torch.tensor([3, 2]), torch.tensor([[1, 2], [1, 1]]), torch.tensor([2, 2]))
    alone = head.loss(h[:1], torch.tensor([3]), torch.tensor([[1, 2]]), torch.tensor([2]))
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, alone / 2)


# ------------------------------------------------------------------ intermediate, self-conditioned CTC


def test_intermediate_ctc_mixes_the_layer_losses_into_the_head_loss_and_conditions_the_layer() -> None:
    torch.manual_seed(3)
    head = CTCHead(d_model=8, vocab_size=6, inter_layers=[1], inter_weight=0.25).train()
    x, h = torch.randn(2, 10, 8), torch.randn(2, 10, 8)
    h_lengths, target_lengths = torch.tensor([10, 7]), torch.tensor([3, 2])
    targets = torch.tensor([[1, 2, 3], [4, 5, 0]])

    conditioned = head.encoder_condition()(x)
    loss = head.loss(h, h_lengths, targets, target_lengths, [x])

    plain = CTCHead(d_model=8, vocab_size=6)
    plain.load_state_dict({k: v for k, v in head.state_dict().items() if k.startswith("proj.")})
    expected = 0.75 * plain.loss(h, h_lengths, targets, target_lengths) + 0.25 * plain.loss(
        x, h_lengths, targets, target_lengths)
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(conditioned, x + head.condition(torch.softmax(head.proj(x), dim=-1)))
    # Without intermediate outputs (validation) the loss is the final layer's alone.
    torch.testing.assert_close(head.loss(h, h_lengths, targets, target_lengths),
                               plain.loss(h, h_lengths, targets, target_lengths))


def test_intermediate_ctc_can_skip_the_conditioning() -> None:
    head = CTCHead(d_model=8, vocab_size=6, inter_layers=[0], self_condition=False).eval()
    assert head.encoder_condition() is None and head.condition is None
    with pytest.raises(ValueError, match="inter_weight"):
        CTCHead(d_model=8, vocab_size=6, inter_layers=[0], inter_weight=1.5)
