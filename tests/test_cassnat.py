"""recog.heads.cassnat (CASS-NAT): the trigger mask, the candidate alignments of error-based
sampling, search end to end (timestamps, blank never a token, batch invariance, n-best) and a loss
that overfits; and recog.decoding.ctc.ctc_forced_align, checked against exhaustive enumeration of
CTC paths."""

from __future__ import annotations

import itertools

import pytest
import torch

from recog.decoding.ctc import ctc_forced_align
from recog.decoding.options import DecodingOptions
from recog.heads.cassnat import CASSNATHead, candidate_paths, trigger_mask
from recog_edge.search import path_segments
from tests.helpers import train_head

BLANK = 0
V = 6  # the head's vocabulary: blank 0, tokens 1-5

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def random_log_probs(*shape: int, seed: int) -> torch.Tensor:
    """log_softmax of seeded random logits: ties between paths are (almost surely) impossible."""
    return torch.log_softmax(2 * torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


# ---------------------------------------------------------------- trigger_mask


def test_trigger_mask_lets_each_token_see_exactly_the_frames_after_the_previous_tokens_last_up_to_its_own() -> None:
    last = torch.tensor([[1, 4, 8]])

    blocked = trigger_mask(last, 10)

    assert blocked.shape == (1, 3, 10) and blocked.dtype == torch.bool
    sees = (~blocked[0]).int().tolist()
    assert sees == [
        # 0  1  2  3  4  5  6  7  8  9
        [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],  # the first token: from frame 0 to its last, 1
        [0, 0, 1, 1, 1, 0, 0, 0, 0, 0],  # (1, 4]
        [0, 0, 0, 0, 0, 1, 1, 1, 1, 0],  # (4, 8]; frame 9 (trailing blanks) belongs to no token
    ]


def test_trigger_mask_hides_every_frame_from_padding_tokens_and_from_an_empty_row() -> None:
    last = torch.tensor([[0, 3, -1], [-1, -1, -1], [2, -1, -1]])

    sees = (~trigger_mask(last, 5)).int().tolist()

    assert sees == [
        [[1, 0, 0, 0, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 0]],  # padding: nothing, though its "previous" frame is 3
        [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],  # no tokens at all
        [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],  # one token, then padding
    ]


def test_trigger_mask_of_no_tokens_is_empty() -> None:
    assert trigger_mask(torch.zeros(2, 0, dtype=torch.long), 4).shape == (2, 0, 4)


# ---------------------------------------------------------------- ctc_forced_align


def collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(token for token, _ in itertools.groupby(path) if token != BLANK)


def brute_force_alignment(log_probs: torch.Tensor, target: list[int]) -> tuple[list[int], list[int]]:
    """The best of all V^T paths of (T, V) ``log_probs`` that collapse to ``target``: the first and
    the last frame of each token's run in it."""
    frames, vocab = log_probs.shape
    best_score, best_path = float("-inf"), None
    for path in itertools.product(range(vocab), repeat=frames):
        if collapse(path) == tuple(target):
            score = float(log_probs[torch.arange(frames), torch.tensor(path)].sum())
            if score > best_score:
                best_score, best_path = score, path
    assert best_path is not None, "the target does not fit in the frames"
    first: list[int] = []
    last: list[int] = []
    for t, c in enumerate(best_path):
        if c != BLANK and (t == 0 or best_path[t - 1] != c):  # a new token's run starts
            first.append(t)
            last.append(t)
        elif c != BLANK:
            last[-1] = t
    return first, last


def forced_align_rows(
    log_probs: torch.Tensor, lengths: list[int], targets: list[list[int]]
) -> tuple[list[list[int]], list[list[int]]]:
    """``ctc_forced_align`` with targets padded with 0 (as ``recog.data`` pads them)."""
    u_max = max(len(t) for t in targets)
    padded = torch.tensor([t + [0] * (u_max - len(t)) for t in targets], dtype=torch.long).reshape(len(targets), u_max)
    first, last = ctc_forced_align(log_probs, torch.tensor(lengths), padded, torch.tensor([len(t) for t in targets]))
    assert first.shape == last.shape == (len(targets), u_max)
    return first.tolist(), last.tolist()


@pytest.mark.parametrize(
    ("target", "frames", "vocab", "seed"),
    [
        ([1, 1], 5, 3, 0),  # a repeat: needs a blank between the two runs
        ([1, 1], 3, 3, 1),  # ... with just enough frames: 1, blank, 1
        ([2], 6, 4, 2),  # a single token
        ([3, 1, 3], 6, 4, 3),
        ([1, 2, 2, 1], 6, 3, 4),
    ],
)
def test_forced_alignment_finds_the_best_path_that_collapses_to_the_target(
    target: list[int], frames: int, vocab: int, seed: int
) -> None:
    log_probs = random_log_probs(1, frames, vocab, seed=seed)

    first, last = forced_align_rows(log_probs, [frames], [target])

    assert (first[0], last[0]) == brute_force_alignment(log_probs[0], target)


def test_forced_alignment_puts_a_blank_between_repeated_tokens_even_where_the_token_is_likelier() -> None:
    probs = torch.tensor(
        [
            [0.10, 0.80, 0.10],
            [0.30, 0.65, 0.05],  # the likeliest place for the blank between the two 1s
            [0.20, 0.70, 0.10],
            [0.05, 0.90, 0.05],
        ]
    )
    log_probs = probs.log()[None]

    first, last = forced_align_rows(log_probs, [4], [[1, 1]])

    assert (first[0], last[0]) == ([0, 2], [0, 3])  # the path 1, blank, 1, 1
    assert (first[0], last[0]) == brute_force_alignment(log_probs[0], [1, 1])


@pytest.mark.parametrize("seed", range(5))
def test_forced_alignment_of_a_padded_batch_aligns_each_input_within_its_own_frames(seed: int) -> None:
    lengths = [6, 4, 5, 3]
    targets = [[1, 2, 1], [3], [2, 2], [1, 3]]
    log_probs = random_log_probs(len(lengths), 6, 4, seed=10 + seed)  # frames past a length: random, ignored

    first, last = forced_align_rows(log_probs, lengths, targets)

    for b, (n, target) in enumerate(zip(lengths, targets, strict=True)):
        expected_first, expected_last = brute_force_alignment(log_probs[b, :n], target)
        pad = [-1] * (3 - len(target))
        assert first[b] == expected_first + pad and last[b] == expected_last + pad


def test_forced_alignment_of_an_empty_target_is_all_padding() -> None:
    log_probs = random_log_probs(2, 5, 3, seed=7)

    first, last = forced_align_rows(log_probs, [5, 4], [[2, 1], []])
    assert (first[1], last[1]) == ([-1, -1], [-1, -1])
    assert (first[0], last[0]) == brute_force_alignment(log_probs[0], [2, 1])  # the other row unharmed

    first, last = forced_align_rows(log_probs, [5, 4], [[], []])
    assert first == last == [[], []]


# ---------------------------------------------------------------- candidate_paths


def test_candidate_paths_change_the_least_certain_frames_to_their_second_best_id_in_order_of_margin() -> None:
    probs = torch.tensor(
        [
            [0.70, 0.20, 0.10],  # greedy 0, second 1, margin log(0.7 / 0.2) = 1.25
            [0.10, 0.50, 0.40],  # greedy 1, second 2, margin 0.22 (the least certain)
            [0.30, 0.10, 0.60],  # greedy 2, second 0, margin 0.69
            [0.04, 0.90, 0.06],  # greedy 1, second 2, margin 2.71
        ]
    )
    log_probs = probs.log()

    assert candidate_paths(log_probs, 1) == [[0, 1, 2, 1]]
    assert candidate_paths(log_probs, 3) == [[0, 1, 2, 1], [0, 2, 2, 1], [0, 1, 0, 1]]
    assert candidate_paths(log_probs, 5) == [[0, 1, 2, 1], [0, 2, 2, 1], [0, 1, 0, 1], [1, 1, 2, 1], [0, 1, 2, 2]]
    assert candidate_paths(log_probs, 9) == candidate_paths(log_probs, 5)  # one alternative per frame at most


def test_candidate_paths_of_random_log_probs_follow_the_margins() -> None:
    log_probs = random_log_probs(12, 5, seed=3)
    values, ids = log_probs.sort(dim=-1, descending=True)
    margins = (values[:, 0] - values[:, 1]).tolist()
    greedy = ids[:, 0].tolist()

    paths = candidate_paths(log_probs, 5)

    assert len(paths) == 5 and paths[0] == greedy
    frames = sorted(range(12), key=lambda t: margins[t])[:4]
    for path, t in zip(paths[1:], frames, strict=True):
        assert [u for u in range(12) if path[u] != greedy[u]] == [t]
        assert path[t] == int(ids[t, 1])


# ---------------------------------------------------------------- the head


def tiny_head(seed: int = 0, **overrides: object) -> CASSNATHead:
    torch.manual_seed(seed)
    options = {"d_model": 16, "vocab_size": V, "heads": 2, "layers": 1, "mixed_layers": 1, "dropout": 0.0}
    return CASSNATHead(**{**options, **overrides})


def decoding_head(seed: int = 0) -> CASSNATHead:
    """A random head whose CTC path has tokens (blank pushed down) and whose decoder would pick the
    blank everywhere if it were not ruled out."""
    head = tiny_head(seed).eval()
    with torch.no_grad():
        head.ctc.bias[BLANK] -= 1.5
        head.out.bias[BLANK] += 20.0
    return head


def encoder_output(batch: int, frames: int, seed: int) -> torch.Tensor:
    return torch.randn(batch, frames, 16, generator=torch.Generator().manual_seed(seed))


def test_search_reads_one_non_blank_token_per_greedy_segment_stamped_at_the_segments_first_frame() -> None:
    head = decoding_head()
    h, lengths = encoder_output(3, 12, seed=1), torch.tensor([12, 9, 5])

    hyps = head.search(h, lengths, DecodingOptions())

    greedy = head.ctc_log_probs(h).argmax(dim=-1)
    for b, (hyp, n) in enumerate(zip(hyps, lengths.tolist(), strict=True)):
        ids, first, _ = path_segments(greedy[b, :n].tolist())
        assert ids, "the test needs tokens to check"
        assert len(hyp.tokens) == len(ids) and BLANK not in hyp.tokens
        assert all(0 < t < V for t in hyp.tokens)
        assert hyp.timestamps == first
        assert len(hyp.token_confidences) == len(ids) and all(0 < c <= 1 for c in hyp.token_confidences)


@pytest.mark.parametrize("beam", [1, 3])
def test_search_of_a_padded_batch_equals_search_of_each_input_alone(beam: int) -> None:
    head = decoding_head(seed=1)
    lengths = [11, 6, 8]
    h = encoder_output(3, 11, seed=2)
    for b, n in enumerate(lengths):
        h[b, n:] = 10 * torch.randn(11 - n, 16)  # padding: loud, and must be ignored
    options = DecodingOptions(beam=beam, nbest=beam)

    together = head.search(h, torch.tensor(lengths), options)

    for b, n in enumerate(lengths):
        [alone] = head.search(h[b : b + 1, :n], torch.tensor([n]), options)
        assert together[b].tokens == alone.tokens and together[b].timestamps == alone.timestamps
        torch.testing.assert_close(together[b].score, alone.score, rtol=0, atol=1e-4)
        assert [x.tokens for x in together[b].nbest] == [x.tokens for x in alone.nbest]
        torch.testing.assert_close(
            [x.score for x in together[b].nbest], [x.score for x in alone.nbest], rtol=0, atol=1e-4
        )


def best_candidate(head: CASSNATHead, h: torch.Tensor, n: int, count: int) -> tuple[list[int], float]:
    """Each of one input's candidate alignments decoded on its own: tokens and decoder + alignment
    log-probability of the best."""
    log_probs = head.ctc_log_probs(h[None, :n])[0]
    scored = []
    for path in candidate_paths(log_probs, count):
        _, _, last = path_segments(path)
        token_lp = head.token_log_probs(h[None, :n], torch.tensor([n]), torch.tensor([last]).reshape(1, -1))[0]
        best_lp, best = token_lp.max(dim=-1)
        alignment = float(log_probs[torch.arange(n), torch.tensor(path)].sum())
        scored.append((float(best_lp.sum()) + alignment, best.tolist()))
    score, tokens = max(scored)
    return tokens, score


@torch.no_grad()
def test_search_with_a_beam_returns_an_nbest_sorted_by_score_headed_by_the_best_candidate() -> None:
    head = decoding_head(seed=2)
    lengths = [12, 8, 10]
    h = encoder_output(3, 12, seed=3)

    hyps = head.search(h, torch.tensor(lengths), DecodingOptions(beam=3, nbest=3))

    assert max(len(hyp.nbest) for hyp in hyps) > 1, "the test needs candidates that decode differently"
    for b, (hyp, n) in enumerate(zip(hyps, lengths, strict=True)):
        assert 1 <= len(hyp.nbest) <= 3
        scores = [x.score for x in hyp.nbest]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(x.tokens) for x in hyp.nbest}) == len(hyp.nbest)  # distinct
        assert (hyp.nbest[0].tokens, hyp.nbest[0].score) == (hyp.tokens, hyp.score)
        tokens, score = best_candidate(head, h[b], n, 3)
        assert hyp.tokens == tokens
        torch.testing.assert_close(hyp.score, score, rtol=0, atol=1e-4)


def test_greedy_search_keeps_no_nbest() -> None:
    [hyp] = decoding_head().search(encoder_output(1, 8, seed=4), torch.tensor([8]), DecodingOptions())
    assert hyp.nbest == []


@pytest.mark.parametrize("beam", [1, 3])
def test_an_input_of_no_frames_reads_as_empty_beside_the_others(beam: int) -> None:
    head = decoding_head()
    h = encoder_output(2, 7, seed=5)
    options = DecodingOptions(beam=beam, nbest=beam)

    full, empty = head.search(h, torch.tensor([7, 0]), options)

    assert empty.tokens == [] and empty.timestamps == []
    [alone] = head.search(h[:1], torch.tensor([7]), options)
    assert full.tokens == alone.tokens


# ---------------------------------------------------------------- the loss


def test_loss_is_finite_and_positive_also_with_an_empty_target() -> None:
    head = tiny_head().train()
    h = encoder_output(2, 10, seed=5)
    targets = torch.tensor([[1, 2, 2], [0, 0, 0]])

    loss = head.loss(h, torch.tensor([10, 7]), targets, torch.tensor([3, 0]))

    assert loss.dim() == 0 and torch.isfinite(loss) and loss > 0
    loss.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in head.parameters())


def test_an_overfit_head_decodes_exactly_its_targets() -> None:
    head = tiny_head(seed=0)
    h, h_lengths = encoder_output(2, 10, seed=6), torch.tensor([10, 8])
    targets, target_lengths = torch.tensor([[1, 2, 3], [4, 4, 0]]), torch.tensor([3, 2])  # 4, 4: a repeat
    losses = train_head(head, h, h_lengths, targets, target_lengths, steps=60, lr=1e-2)

    assert losses[-1] < 0.2 * losses[0]  # about 0.05-0.08 over torch seeds 0-5
    hyps = head.eval().search(h, h_lengths, DecodingOptions())
    assert [hyp.tokens for hyp in hyps] == [[1, 2, 3], [4, 4]]
    assert all(
        hyp.timestamps == sorted(hyp.timestamps) and max(hyp.timestamps) < n
        for hyp, n in zip(hyps, h_lengths.tolist(), strict=True)
    )
