"""recog.heads.attention, recog.decoding.attention and recog.decoding.rescoring: the attention
decoder's loss and KV cache, greedy, beam, diverse beam search and attention rescoring, joint
CTC/attention models on both encoders, and the search flags of `recog transcribe` / `recog ocr` / `recog eval`."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

import recog
from recog.checkpoint import save_checkpoint
from recog.cli import build_parser, main, search_options
from recog.decoding.attention import beam_search, greedy_search, normalised
from recog.decoding.ctc import ctc_log_likelihood
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import DecodingOptions
from recog.decoding.rescoring import rerank
from recog.heads.attention import AttentionHead
from recog.heads.ctc import CTCHead
from recog.lm import CharNgramLM
from recog.model import Recognizer
from recog.text import CharTokenizer

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

TEXTS = ["hello world", "open the door", "blue sky"]
TOKENIZER = CharTokenizer.from_texts(TEXTS)
V = TOKENIZER.vocab_size
ROOT = Path(__file__).resolve().parents[1]


def batch_of(*texts: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded targets (B, U) in the collate format (0 after each text) and lengths (B,)."""
    ids = [TOKENIZER.encode(t) for t in texts]
    longest = max(len(x) for x in ids)
    return torch.tensor([x + [0] * (longest - len(x)) for x in ids]), torch.tensor([len(x) for x in ids])


def tiny_head(seed: int = 0, sharpen: float = 0.0, **overrides: object) -> AttentionHead:
    """A small head; ``sharpen`` > 0 redraws its weights with that std for peaked, varied outputs."""
    torch.manual_seed(seed)
    head = AttentionHead(**{"d_model": 32, "vocab_size": V, "layers": 2, "heads": 2, "dropout": 0.0, **overrides})
    if sharpen:
        with torch.no_grad():
            for p in head.parameters():
                p.normal_(0, sharpen)
    return head.eval()


def encoder_output(batch: int = 3, frames: int = 16, dim: int = 32, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, frames, dim, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- loss


def manual_loss(head: AttentionHead, h: torch.Tensor, h_lengths: torch.Tensor, texts: list[str],
                epsilon: float) -> float:
    """Label-smoothed cross-entropy written out: per utterance, for each of its tokens and then
    the eos, (1 - eps) * -log p(label) + eps * mean over classes of -log p; summed, / batch."""
    total = 0.0
    head = head.eval()
    for b, text in enumerate(texts):
        ids = TOKENIZER.encode(text)
        inputs = torch.tensor([[head.sos, *ids]])
        memory = head.memory(h[b: b + 1, : int(h_lengths[b])], h_lengths[b: b + 1])
        log_probs = F.log_softmax(head(inputs, memory), dim=-1)[0].detach()
        for position, label in enumerate([*ids, head.eos]):
            total += float((1 - epsilon) * -log_probs[position, label] + epsilon * -log_probs[position].mean())
    return total / len(texts)


@pytest.mark.parametrize("epsilon", [0.0, 0.1])
def test_loss_is_the_smoothed_cross_entropy_of_every_token_and_the_eos(epsilon: float) -> None:
    head = tiny_head(sharpen=0.2, label_smoothing=epsilon)
    h, lengths = encoder_output(3, 16), torch.tensor([16, 9, 12])
    targets, target_lengths = batch_of(*TEXTS)

    loss = head.loss(h, lengths, targets, target_lengths)

    assert loss.item() == pytest.approx(manual_loss(head, h, lengths, TEXTS, epsilon), rel=1e-5)


def test_loss_ignores_padded_targets_and_padded_frames() -> None:
    head = tiny_head(sharpen=0.2)
    h, lengths = encoder_output(3, 16), torch.tensor([16, 9, 12])
    targets, target_lengths = batch_of(*TEXTS)
    dirty_targets, dirty_h = targets.clone(), h.clone()
    dirty_targets[2, 8:] = 5  # "blue sky" is 8 long
    dirty_h[1, 9:] = 100.0

    torch.testing.assert_close(head.loss(dirty_h, lengths, dirty_targets, target_lengths),
                               head.loss(h, lengths, targets, target_lengths))


def test_label_smoothing_costs_a_confident_model_more_and_a_uniform_one_nothing() -> None:
    """A uniform output costs log(classes) per label whatever the smoothing; a confident one
    costs more with smoothing, which spreads part of each label over every class."""
    targets, target_lengths = batch_of(*TEXTS)
    labels = sum(len(t) + 1 for t in TEXTS)
    h, lengths = encoder_output(3, 16), torch.tensor([16, 9, 12])
    for epsilon in (0.0, 0.1, 0.3):
        uniform = tiny_head(label_smoothing=epsilon)
        with torch.no_grad():
            uniform.out.weight.zero_()
            uniform.out.bias.zero_()
        assert uniform.loss(h, lengths, targets, target_lengths).item() == pytest.approx(
            labels * math.log(V + 1) / 3, rel=1e-5)

    confident = tiny_head(label_smoothing=0.0).train()
    optimizer = torch.optim.Adam(confident.parameters(), lr=1e-2)
    for _ in range(60):
        loss = confident.loss(h, lengths, targets, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    smoothed = tiny_head(label_smoothing=0.1)
    smoothed.load_state_dict(confident.state_dict())
    nll = confident.eval().loss(h, lengths, targets, target_lengths).item()
    assert nll < 0.05 * labels  # near certain of every label
    assert smoothed.loss(h, lengths, targets, target_lengths).item() > nll + 0.1 * labels


# ---------------------------------------------------------------- KV cache


def test_cached_steps_give_the_logits_of_the_uncached_decoder() -> None:
    head = tiny_head(sharpen=0.3)
    h, lengths = encoder_output(3, 16) * 2, torch.tensor([16, 9, 12])
    targets, target_lengths = batch_of(*TEXTS)
    inputs, _ = head._teacher_forcing(targets, target_lengths)  # (3, 14): sos + text, eos-padded
    memory = head.memory(h, lengths)

    uncached = F.log_softmax(head(inputs, memory), dim=-1)  # the whole prefix re-run, (3, 14, V + 1)
    cache = head.initial_cache(3, h.device)
    for position in range(inputs.shape[1]):
        log_probs, _, cache = head.step(inputs[:, position], memory, cache)
        assert cache.shape[-2] == position + 1
        torch.testing.assert_close(log_probs, uncached[:, position], atol=1e-5, rtol=0)
    assert uncached.std() > 0.5  # far from uniform: a wrong position or cache would show


def test_decoding_computes_the_memory_once_and_one_new_token_per_step() -> None:
    head = tiny_head(sharpen=0.3)
    h, lengths = encoder_output(2, 16), torch.tensor([16, 11])
    seen: dict[str, list[tuple[int, ...]]] = {"self": [], "cross": []}
    hooks = [layer.self_attention.key_value.register_forward_hook(
        lambda _m, args, _out: seen["self"].append(tuple(args[0].shape))) for layer in head.layers]
    hooks += [layer.cross_attention.key_value.register_forward_hook(
        lambda _m, args, _out: seen["cross"].append(tuple(args[0].shape))) for layer in head.layers]
    try:
        hyps = head.decode(h, lengths, search="beam", beam=3)
    finally:
        for hook in hooks:
            hook.remove()

    assert seen["cross"] == [(2, 16, 32)] * 2  # every layer's encoder keys/values, once
    steps = len(seen["self"]) // 2
    assert steps > max(len(hyp.tokens) for hyp in hyps)  # one step per token, and one for the eos
    assert set(seen["self"]) == {(6, 1, 32)}  # each step: one new token for each of the 2 x 3 beams


# ---------------------------------------------------------------- searches on a real (random) head


def test_beam_search_of_width_one_is_greedy_search() -> None:
    head = tiny_head(sharpen=0.3)
    h, lengths = encoder_output(3, 16) * 2, torch.tensor([16, 9, 12])

    greedy = head.decode(h, lengths)
    beam = head.decode(h, lengths, search="beam", beam=1)

    assert any(len(hyp.tokens) > 1 for hyp in greedy)  # something to compare
    for g, b in zip(greedy, beam, strict=True):
        assert b.tokens == g.tokens and b.timestamps == g.timestamps
        assert b.score == pytest.approx(g.score, abs=1e-5)
        assert b.token_confidences == pytest.approx(g.token_confidences, abs=1e-6)


@pytest.mark.parametrize("options", [{}, {"beam": 4, "nbest": 3},
                                     {"search": "diverse", "beam": 4, "groups": 2, "nbest": 4}])
def test_batched_search_equals_searching_each_input_alone(options: dict) -> None:
    head = tiny_head(seed=2, sharpen=0.3)
    h, lengths = encoder_output(3, 16, seed=3) * 2, torch.tensor([16, 7, 12])
    h[1, 7:] = 50.0  # junk in padded frames

    batched = head.decode(h, lengths, **options)

    assert {len(hyp.tokens) for hyp in batched} != {0}
    for b, n in enumerate(lengths.tolist()):
        [alone] = head.decode(h[b: b + 1, :n], torch.tensor([n]), **options)
        assert batched[b].tokens == alone.tokens and batched[b].timestamps == alone.timestamps
        assert batched[b].score == pytest.approx(alone.score, abs=1e-4)
        assert [x.tokens for x in batched[b].nbest] == [x.tokens for x in alone.nbest]


def test_diverse_beam_search_with_one_group_is_beam_search() -> None:
    head = tiny_head(seed=4, sharpen=0.3)
    h, lengths = encoder_output(3, 16, seed=5) * 2, torch.tensor([16, 9, 12])

    beam = head.decode(h, lengths, search="beam", beam=4, nbest=4)
    diverse = head.decode(h, lengths, search="diverse", beam=4, groups=1, diversity=2.0, nbest=4)

    for b, d in zip(beam, diverse, strict=True):
        assert [x.tokens for x in d.nbest] == [x.tokens for x in b.nbest]
        assert [x.score for x in d.nbest] == pytest.approx([x.score for x in b.nbest], abs=1e-6)


def test_nbest_lists_are_distinct_ranked_by_normalised_score_and_led_by_the_result() -> None:
    head = tiny_head(seed=6, sharpen=0.3)
    h, lengths = encoder_output(2, 16, seed=7) * 2, torch.tensor([16, 12])
    for options in ({"beam": 5, "nbest": 5}, {"search": "diverse", "beam": 6, "groups": 3, "nbest": 5}):
        for hyp in head.decode(h, lengths, **options):
            assert 2 <= len(hyp.nbest) <= 5
            assert hyp.nbest[0].tokens == hyp.tokens and hyp.nbest[0].score == hyp.score
            assert len({tuple(x.tokens) for x in hyp.nbest}) == len(hyp.nbest)
            ranks = [normalised(x, 1.0) for x in hyp.nbest]
            assert ranks == sorted(ranks, reverse=True)
            for x in hyp.nbest:  # the score is the log-probability of the tokens and the eos
                assert math.exp(x.score / (len(x.tokens) + 1)) == pytest.approx(x.confidence)
                assert 0 <= min(x.timestamps, default=0) and max(x.timestamps, default=0) < 16


def test_search_stops_at_max_len_and_never_outputs_the_blank() -> None:
    head = tiny_head(sharpen=0.3)
    with torch.no_grad():
        head.out.bias[head.eos] = -1e4  # the decoder never wants to stop
        head.out.bias[0] = 1e4  # and would rather say the blank than anything
    h, lengths = encoder_output(2, 16), torch.tensor([16, 5])
    for options in ({}, {"beam": 3}, {"search": "diverse", "beam": 4}):
        hyps = head.decode(h, lengths, **options)
        assert [len(hyp.tokens) for hyp in hyps] == [16, 5]  # as many tokens as encoder frames
        assert all(0 not in hyp.tokens for hyp in hyps)
        assert [len(hyp.tokens) for hyp in head.decode(h, lengths, max_len=3, **options)] == [3, 3]


# ---------------------------------------------------------------- searches on a scripted decoder

A, B, X, Y, Z, EOS = 2, 3, 4, 5, 6, 7


class ScriptedMemory:
    def repeat(self, times: int) -> ScriptedMemory:
        return self


class ScriptedDecoder:
    """A decoder whose next-token probabilities are a table keyed by the tokens so far; tokens
    absent from a row have probability 0, and an absent prefix can only end."""

    sos = eos = EOS

    def __init__(self, table: dict[tuple[int, ...], dict[int, float]]) -> None:
        self.table = table

    def memory(self, h: torch.Tensor, h_lengths: torch.Tensor) -> ScriptedMemory:
        return ScriptedMemory()

    def initial_cache(self, rows: int, device: torch.device) -> torch.Tensor:
        return torch.zeros(rows, 0, dtype=torch.long)  # the cache is the tokens fed so far

    def step(self, tokens: torch.Tensor, memory: ScriptedMemory, cache: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cache = torch.cat([cache, tokens[:, None]], dim=1)
        probs = torch.zeros(len(tokens), EOS + 1)
        for row, fed in enumerate(cache.tolist()):
            for token, p in self.table.get(tuple(fed[1:]), {EOS: 1.0}).items():
                probs[row, token] = p
        return probs.log(), torch.zeros(len(tokens), dtype=torch.long), cache

    @staticmethod
    def reorder_cache(cache: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return cache[index]


def scripted_search(table: dict, **options: object) -> Hypothesis:
    decoding = DecodingOptions(**options)  # type: ignore[arg-type]
    search = greedy_search if decoding.search == "greedy" else beam_search
    [hyp] = search(ScriptedDecoder(table), torch.zeros(1, 10, 1), torch.tensor([10]), decoding)
    return hyp


#  a (.5)  -> x (.5), y (.45)   both likelier than anything after b, so plain beam search keeps
#  b (.4)  -> x (.5), z (.45)   only a-prefixes; diverse beam search keeps b in its second group (a
#                               group may not hold what an earlier one holds), and the Hamming
#                               penalty on x, chosen by the first group at that step, makes it b z.
TWO_BRANCHES = {(): {A: 0.5, B: 0.4, EOS: 0.1}, (A,): {X: 0.5, Y: 0.45, EOS: 0.05}, (B,): {X: 0.5, Z: 0.45, EOS: 0.05}}


def test_plain_beam_search_keeps_only_the_likeliest_branch() -> None:
    hyp = scripted_search(TWO_BRANCHES, beam=2, nbest=2)
    assert [x.tokens for x in hyp.nbest] == [[A, X], [A, Y]]
    assert hyp.score == pytest.approx(math.log(0.25))


def test_diverse_beam_search_keeps_a_second_branch_through_the_hamming_penalty() -> None:
    hyp = scripted_search(TWO_BRANCHES, search="diverse", beam=2, groups=2, diversity=0.5, nbest=2)
    assert [x.tokens for x in hyp.nbest] == [[A, X], [B, Z]]
    assert [x.score for x in hyp.nbest] == pytest.approx([math.log(0.25), math.log(0.18)])  # raw log-probs

    without_penalty = scripted_search(TWO_BRANCHES, search="diverse", beam=2, groups=2, diversity=0.0, nbest=2)
    assert [x.tokens for x in without_penalty.nbest] == [[A, X], [B, X]]


def test_diverse_beam_search_groups_never_hold_the_same_hypothesis() -> None:
    # One likely path: without the rule both groups would follow "a x" and the n-best would hold
    # it once; with it the second group keeps the next distinct path, like plain beam search.
    one_path = {(): {A: 0.9, B: 0.1}, (A,): {X: 0.9, Y: 0.1}, (B,): {Z: 1.0}}
    for diversity in (0.0, 0.5):
        hyp = scripted_search(one_path, search="diverse", beam=2, groups=2, diversity=diversity, nbest=2)
        assert len(hyp.nbest) == 2 and hyp.nbest[0].tokens == [A, X]


#  Ending at once (.5) beats "a b" (.45 * .9 * .95 = .38) in log-probability, not per token.
SHORT_OR_LONG = {(): {EOS: 0.5, A: 0.45, B: 0.05}, (A,): {B: 0.9, EOS: 0.1}, (A, B): {EOS: 0.95, Z: 0.05}}


def test_beam_search_ranks_by_length_normalised_score() -> None:
    assert scripted_search(SHORT_OR_LONG, beam=3).tokens == [A, B]
    assert scripted_search(SHORT_OR_LONG, beam=3, length_penalty=0.0).tokens == []
    assert scripted_search(SHORT_OR_LONG).tokens == []  # greedy takes the eos first


# ---------------------------------------------------------------- rescoring


@torch.no_grad()
def test_rescoring_ranks_ctc_candidates_by_attention_plus_weighted_ctc_score() -> None:
    head = tiny_head(sharpen=0.3)
    h, lengths = encoder_output(1, 16) * 2, torch.tensor([16])
    sequences = [TOKENIZER.encode(t) for t in ("hello", "yellow", "hollow", "he")]
    memory = head.memory(h, lengths)
    attention_scores = [sum(lps) for lps in head.token_log_probs(memory.repeat(4), sequences)]
    # the same numbers step by step through the cache
    for sequence, expected in zip(sequences, attention_scores, strict=True):
        cache, total = head.initial_cache(1, h.device), 0.0
        for fed, label in zip([head.sos, *sequence], [*sequence, head.eos], strict=True):
            log_probs, _, cache = head.step(torch.tensor([fed]), memory, cache)
            total += float(log_probs[0, label])
        assert total == pytest.approx(expected, abs=1e-4)
    ctc_scores = [-3.0, -1.0, -2.0, -9.0]
    candidates = [[Hypothesis(tokens=s, score=c, confidence=1.0, timestamps=list(range(len(s))))
                   for s, c in zip(sequences, ctc_scores, strict=True)]]

    for weight in (0.0, 0.5, 100.0):
        [best] = rerank(head, h, lengths, candidates, DecodingOptions(search="rescore", ctc_weight=weight,
                                                                                  nbest=4))
        combined = [a + weight * c for a, c in zip(attention_scores, ctc_scores, strict=True)]
        winner = int(np.argmax(combined))
        assert best.tokens == sequences[winner] and best.score == pytest.approx(combined[winner], abs=1e-4)
        assert best.timestamps == list(range(len(sequences[winner])))  # the CTC alignment's
        assert [x.score for x in best.nbest] == pytest.approx(sorted(combined, reverse=True), abs=1e-4)
    assert sequences[int(np.argmax(attention_scores))] != sequences[1]  # the weight really decides


def test_ctc_prefix_beam_search_keeps_its_final_prefixes_as_the_nbest_for_rescoring() -> None:
    torch.manual_seed(0)
    head = CTCHead(d_model=8, vocab_size=5)
    h, lengths = torch.randn(2, 9, 8) * 3, torch.tensor([9, 6])

    for hyp in head.decode(h, lengths, beam=4):
        assert 2 <= len(hyp.nbest) <= 4
        assert hyp.nbest[0].tokens == hyp.tokens and hyp.nbest[0].score == hyp.score
        assert [x.score for x in hyp.nbest] == sorted((x.score for x in hyp.nbest), reverse=True)
        assert len({tuple(x.tokens) for x in hyp.nbest}) == len(hyp.nbest)
        assert all(len(x.timestamps) == len(x.tokens) == len(x.token_confidences) for x in hyp.nbest)


def test_ctc_log_likelihood_sums_every_alignment() -> None:
    torch.manual_seed(0)
    log_probs = torch.randn(2, 4, 3).log_softmax(-1)  # (B, T, C), blank 0
    lengths = torch.tensor([4, 3])
    sequences, owner = [[1], [1, 2], [2, 2], [], [1, 1, 1], [2, 1]], [0, 0, 0, 0, 0, 1]

    def enumerated(b: int, target: list[int]) -> float:
        total = 0.0
        for path in itertools.product(range(3), repeat=int(lengths[b])):
            collapsed = [t for i, t in enumerate(path) if t != 0 and (i == 0 or t != path[i - 1])]
            if collapsed == target:
                total += math.exp(sum(float(log_probs[b, i, t]) for i, t in enumerate(path)))
        return math.log(total) if total else float("-inf")

    got = ctc_log_likelihood(log_probs, lengths, owner, sequences)
    expected = [enumerated(b, seq) for b, seq in zip(owner, sequences, strict=True)]
    assert got[:4] + got[5:] == pytest.approx(expected[:4] + expected[5:], abs=1e-5)
    assert got[4] == expected[4] == float("-inf")  # "a a a" needs 5 frames (blanks between repeats)


@torch.no_grad()
def test_joint_rescoring_ranks_the_pooled_ctc_and_attention_nbest_by_both_heads() -> None:
    model = joint_model("speech").eval()
    h, lengths = encoder_output(2, 12, seed=3) * 3, torch.tensor([12, 9])
    ctc, attention = model.heads["ctc"], model.heads["attention"]
    ctc_nbest = [hyp.nbest or [hyp] for hyp in ctc.decode(h, lengths, beam=3)]
    attention_nbest = [hyp.nbest or [hyp] for hyp in attention.decode(h, lengths, search="beam", beam=3, nbest=3)]

    for weight in (0.0, 0.3, 50.0):
        hyps = model.decode(h, lengths, search="joint", beam=3, ctc_weight=weight, nbest=3)
        for b, hyp in enumerate(hyps):
            pool = list({tuple(x.tokens): x.tokens for x in [*attention_nbest[b], *ctc_nbest[b]]}.values())
            ctc_scores = ctc_log_likelihood(ctc(h), lengths, [b] * len(pool), pool)
            memory = attention.memory(h[b: b + 1], lengths[b: b + 1]).repeat(len(pool))
            attention_scores = [sum(lps) for lps in attention.token_log_probs(memory, pool)]
            combined = [a + (weight * c if weight else 0.0) for a, c in zip(attention_scores, ctc_scores, strict=True)]
            assert hyp.tokens == pool[int(np.argmax(combined))]
            assert hyp.score == pytest.approx(max(combined), abs=1e-4)
    assert any(tuple(x.tokens) not in {tuple(y.tokens) for y in ctc_nbest[b]}
               for b in range(2) for x in attention_nbest[b])  # the pool really is larger than the CTC n-best
    with pytest.raises(ValueError, match="language model"):
        model.decode(h, lengths, head="ctc", search="joint", beam=3, lm=CharNgramLM.train(["ab"], order=2))


# ---------------------------------------------------------------- joint models and overfitting

SPEECH_ENCODER = {"name": "conformer", "d_model": 32, "n_layers": 1, "n_heads": 2, "subsampling_channels": 16,
                  "dropout": 0.0, "dropout_att": 0.0, "conv_norm": "layer"}
VISION_ENCODER = {"name": "vision", "dims": [16, 32, 32], "depths": [1, 1, 1], "local_blocks": [1, 0, 0],
                  "n_heads": [1, 2, 2]}
JOINT_HEADS = {"attention": {"weight": 0.7, "layers": 1, "heads": 2, "dropout": 0.0},
               "ctc": {"weight": 0.3}}


def joint_model(kind: str) -> Recognizer:
    torch.manual_seed(0)
    if kind == "speech":
        return Recognizer(TOKENIZER, encoder=SPEECH_ENCODER, heads=JOINT_HEADS)
    return Recognizer(TOKENIZER, encoder=VISION_ENCODER, heads=JOINT_HEADS, frontend="image")


def raw_batch(kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    if kind == "speech":
        return torch.randn(3, 16000, generator=generator) * 0.1, torch.tensor([16000, 12000, 9000])
    return torch.randint(0, 256, (3, 32, 96, 3), dtype=torch.uint8, generator=generator), torch.tensor([96, 80, 64])


@pytest.mark.parametrize("kind", ["speech", "vision"])
def test_joint_ctc_attention_model_trains_one_encoder_with_the_weighted_losses(kind: str) -> None:
    model = joint_model(kind).train()
    inputs, input_lengths = raw_batch(kind)
    targets, target_lengths = batch_of(*TEXTS)

    losses = model(inputs, input_lengths, targets, target_lengths)
    losses["loss"].backward()

    assert set(losses) == {"loss", "loss_ctc", "loss_attention"}
    torch.testing.assert_close(losses["loss"], 0.3 * losses["loss_ctc"] + 0.7 * losses["loss_attention"])
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.heads["attention"].out.parameters())
    encoder_grads = [p.grad for p in model.encoder.parameters() if p.requires_grad]
    assert sum(float(g.abs().sum()) for g in encoder_grads if g is not None) > 0
    model.eval()
    assert model.default_head == "attention"
    for options in ({}, {"search": "beam", "beam": 2}, {"search": "rescore", "beam": 2}):
        hyps = model.recognize(inputs, input_lengths, **options)
        assert len(hyps) == 3 and all(hyp.text == TOKENIZER.decode(hyp.tokens) for hyp in hyps)
    assert len(model.recognize(inputs, input_lengths, head="ctc")) == 3


@pytest.mark.parametrize("config", ["synth_speech_attention.yaml", "synth_ocr_attention.yaml"])
def test_attention_configs_build_a_joint_ctc_attention_model(config: str) -> None:
    spec = yaml.safe_load((ROOT / "configs" / config).read_text())["model"]["model"]
    model = Recognizer(TOKENIZER, **spec)
    assert set(model.loss_weights) == {"attention", "ctc"} and sum(model.loss_weights.values()) == 1.0
    assert model.default_head == "attention"
    assert isinstance(model.heads["attention"], AttentionHead)
    assert model.heads["attention"].label_smoothing > 0


def overfit_joint_heads(model: Recognizer, h: torch.Tensor, lengths: torch.Tensor, steps: int) -> None:
    """Train the model's heads (weighted like the Recognizer does) on fixed encoder features."""
    targets, target_lengths = batch_of(*TEXTS)
    optimizer = torch.optim.Adam(model.heads.parameters(), lr=5e-3)
    model.train()
    for _ in range(steps):
        loss = sum(model.loss_weights[name] * head.loss(h, lengths, targets, target_lengths)
                   for name, head in model.heads.items())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


SEARCHES = [{}, {"search": "beam", "beam": 4, "nbest": 2}, {"search": "diverse", "beam": 4, "groups": 2, "nbest": 3},
            {"search": "rescore", "beam": 4, "nbest": 2}, {"search": "joint", "beam": 4, "nbest": 2},
            {"head": "ctc", "beam": 4, "nbest": 2}]


def test_an_overfit_joint_model_reads_back_the_texts_with_every_search() -> None:
    model = joint_model("speech")
    h, lengths = encoder_output(3, 18, seed=11), torch.tensor([18, 16, 12])
    overfit_joint_heads(model, h, lengths, steps=150)

    for options in SEARCHES:
        hyps = model.decode(h, lengths, **options)
        assert [hyp.text for hyp in hyps] == TEXTS, options
        if options.get("nbest", 1) > 1:
            assert all(hyp.nbest[0].text == hyp.text and len(hyp.nbest) >= 2 for hyp in hyps)
    for hyp in model.decode(h, lengths):
        assert all(c > 0.5 for c in hyp.token_confidences)


def test_recognizer_refuses_searches_a_head_cannot_do() -> None:
    model = joint_model("speech").eval()
    h, lengths = encoder_output(1, 8), torch.tensor([8])
    with pytest.raises(ValueError, match="diverse"):
        model.decode(h, lengths, head="ctc", search="diverse", beam=4)
    with pytest.raises(ValueError, match="greedy"):
        model.decode(h, lengths, search="greedy", beam=4)
    with pytest.raises(ValueError, match="n-best"):
        model.decode(h, lengths, beam=2, nbest=3)
    only_attention = Recognizer(TOKENIZER, encoder=SPEECH_ENCODER, heads={"attention": JOINT_HEADS["attention"]})
    with pytest.raises(ValueError, match="rescoring needs"):
        only_attention.decode(h, lengths, search="rescore")


# ---------------------------------------------------------------- CLI


def test_search_flags_parse_into_decoding_options() -> None:
    for command in (["transcribe", "a.wav"], ["ocr", "a.png"], ["eval", "--manifest", "m.jsonl"]):
        args = build_parser().parse_args([*command, "--model", "m.ckpt", "--head", "attention", "--search", "diverse",
                                          "--beam", "6", "--groups", "3", "--diversity", "0.7", "--nbest", "4",
                                          "--ctc-weight", "0.5"])
        assert args.head == "attention"
        assert search_options(args) == {"search": "diverse", "beam": 6, "groups": 3, "diversity": 0.7, "nbest": 4,
                                        "ctc_weight": 0.5}
    plain = build_parser().parse_args(["transcribe", "a.wav", "--model", "m.ckpt", "--beam", "4"])
    assert DecodingOptions(**search_options(plain)) == DecodingOptions(search="beam", beam=4, groups=1)


@pytest.fixture(scope="module")
def inputs_and_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[Path]]]:
    root = tmp_path_factory.mktemp("attention_cli")
    rng = np.random.default_rng(0)
    wavs = []
    for i, seconds in enumerate((1.0, 0.6)):
        wavs.append(root / f"utt{i}.wav")
        soundfile.write(wavs[-1], (rng.standard_normal(int(16000 * seconds)) * 0.1).astype(np.float32), 16000)
    pngs = []
    for i, width in enumerate((90, 60)):
        pngs.append(root / f"line{i}.png")
        Image.fromarray(rng.integers(0, 256, (30, width), dtype=np.uint8)).save(pngs[-1])
    for kind, files in (("speech", wavs), ("vision", pngs)):
        manifest = root / f"{kind}.jsonl"
        key = "audio_filepath" if kind == "speech" else "image_filepath"
        manifest.write_text("".join(json.dumps({key: f.name, "text": TEXTS[i], "duration": 1.0}) + "\n"
                                    for i, f in enumerate(files)))
    return {kind: (save_checkpoint(joint_model(kind).eval(), root / f"{kind}.ckpt"), files)
            for kind, files in (("speech", wavs), ("vision", pngs))}


@pytest.mark.parametrize("kind", ["speech", "vision"])
@pytest.mark.parametrize("flags", [["--search", "beam", "--beam", "3"], ["--search", "diverse", "--beam", "4"],
                                   ["--search", "rescore", "--beam", "4"], ["--search", "joint", "--beam", "4"]])
def test_cli_writes_nbest_lists_with_scores(inputs_and_models: dict, kind: str, flags: list[str],
                                            tmp_path: Path) -> None:
    checkpoint, files = inputs_and_models[kind]
    out = tmp_path / "out.jsonl"
    command = "transcribe" if kind == "speech" else "ocr"

    code = main([command, *map(str, files), "--model", str(checkpoint), "--head", "attention", *flags,
                 "--nbest", "3", "--output", str(out)])

    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert 2 <= len(row["nbest"]) <= 3
        assert row["nbest"][0]["text"] == row["text"] and row["nbest"][0]["score"] == row["score"]
        assert len({tuple(x["tokens"]) for x in row["nbest"]}) == len(row["nbest"])
        assert all(set(x) == {"text", "tokens", "score", "confidence"} for x in row["nbest"])
        rank_by = "score" if {"rescore", "joint"} & set(flags) else "confidence"  # confidence: the per-token mean
        assert [x[rank_by] for x in row["nbest"]] == sorted((x[rank_by] for x in row["nbest"]), reverse=True)


def test_cli_eval_and_python_api_take_the_search_options(inputs_and_models: dict, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    checkpoint, files = inputs_and_models["speech"]
    out = tmp_path / "eval.jsonl"
    assert main(["eval", "--manifest", str(files[0].parent / "speech.jsonl"), "--model", str(checkpoint),
                 "--search", "diverse", "--beam", "4", "--groups", "2", "--nbest", "2", "--output", str(out)]) == 0
    assert "WER:" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["reference"] for r in rows] == TEXTS[:2] and all(len(r["nbest"]) == 2 for r in rows)

    model = recog.load(checkpoint)
    [with_nbest] = model.transcribe(files[:1], search="beam", beam=3, nbest=3)
    [without] = model.transcribe(files[:1], search="beam", beam=3)
    assert with_nbest.text == without.text and len(with_nbest.nbest) == 3
    assert "nbest" not in without.to_json() and "nbest" in with_nbest.to_json()


@pytest.mark.parametrize("flags, message", [(["--search", "greedy", "--beam", "4"], "greedy"),
                                            (["--beam", "2", "--nbest", "3"], "n-best"),
                                            (["--search", "diverse", "--beam", "4", "--groups", "3"], "groups")])
def test_cli_refuses_search_flags_that_do_not_fit(inputs_and_models: dict, flags: list[str], message: str,
                                                  capsys: pytest.CaptureFixture) -> None:
    checkpoint, files = inputs_and_models["speech"]
    assert main(["transcribe", str(files[0]), "--model", str(checkpoint), *flags]) == 2
    assert message in capsys.readouterr().err


def test_memory_positions_tell_identical_frames_apart() -> None:
    """With ``memory_positions`` each frame's cross-attention keys carry where it is: frames that
    look alike get different keys; without it they get the same ones."""
    torch.manual_seed(0)
    h = torch.randn(1, 1, 16).expand(1, 6, 16)  # six identical frames
    lengths = torch.tensor([6])
    plain = AttentionHead(16, 5, layers=1, heads=2).eval()
    placed = AttentionHead(16, 5, layers=1, heads=2, memory_positions=True).eval()
    placed.load_state_dict(plain.state_dict())  # the same weights: positions are the only difference
    with torch.no_grad():
        plain_keys, placed_keys = plain.memory(h, lengths).keys[0, 0], placed.memory(h, lengths).keys[0, 0]
    torch.testing.assert_close(plain_keys[:, 0], plain_keys[:, 1])
    assert not torch.allclose(placed_keys[:, 0], placed_keys[:, 1], atol=1e-3)
