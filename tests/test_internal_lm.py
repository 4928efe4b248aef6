"""The hybrid's RNN-T prediction network as an internal LM for CTC prefix beam search."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recog.decoding.ctc import prefix_beam_search
from recog.decoding.internal_lm import InternalLMFusion
from recog.heads.transducer import TransducerHead
from recog.lm import CharNgramLM
from recog.model import Recognizer
from recog.text import CharTokenizer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(params=["lstm", "stateless"])
def head(request: pytest.FixtureRequest) -> TransducerHead:
    torch.manual_seed(0)
    return TransducerHead(16, 9, predictor=request.param, pred_dim=12, joint_dim=12).eval()


def teacher_forced(head: TransducerHead, prefix: tuple[int, ...], weight: float, bonus: float) -> float:
    """weight * sum log P_ILM(token | earlier tokens) + bonus * len, from one teacher-forced pass."""
    with torch.no_grad():
        out = head.predictor(torch.tensor([(0, *prefix)]))[0]  # (U+1, H)
        logits = head.out(torch.tanh(head.enc_proj.bias + head.pred_proj(out)))
        logits[:, 0] = float("-inf")
        log_probs = torch.log_softmax(logits, dim=-1)
    return sum(weight * float(log_probs[u, y]) + bonus for u, y in enumerate(prefix))


def test_prefix_scores_equal_the_teacher_forced_internal_lm_in_any_order(head: TransducerHead) -> None:
    fusion = InternalLMFusion(head, weight=0.7, bonus=0.25)
    for prefix in [(1, 2, 3, 4), (1, 2, 5), (), (1, 2, 3, 4, 6), (8,), (1, 2, 5, 5, 5, 7)]:
        assert fusion.prefix_score(prefix) == pytest.approx(teacher_forced(head, prefix, 0.7, 0.25), abs=1e-5)
        assert fusion.final_score(prefix) == fusion.prefix_score(prefix)


def test_a_prefix_longer_than_the_cache_still_scores_right(head: TransducerHead) -> None:
    fusion = InternalLMFusion(head, weight=1.0, bonus=0.0)
    fusion.CACHE_PREFIXES = 3  # starts over many times along the way
    prefix = tuple(int(t) for t in torch.randint(1, 9, (40,), generator=torch.Generator().manual_seed(0)))
    assert fusion.prefix_score(prefix) == pytest.approx(teacher_forced(head, prefix, 1.0, 0.0), abs=1e-4)


def test_the_internal_lm_breaks_an_acoustic_tie_its_way(head: TransducerHead) -> None:
    first = InternalLMFusion(head, 1.0, 0.0)._next_log_probs(())
    ranked = [int(t) for t in torch.argsort(first[1:], descending=True) + 1]
    liked, disliked = ranked[0], ranked[-1]
    log_probs = np.full((3, 9), np.log(1e-4), dtype=np.float32)
    log_probs[0, [liked, disliked]] = np.log(0.45)  # the acoustics cannot tell the two apart
    log_probs[1:, 0] = 0.0
    for order in ([liked, disliked], [disliked, liked]):
        lp = log_probs.copy()
        lp[0, order[0]] += 1e-3  # whichever is a hair ahead without the LM
        assert prefix_beam_search(lp, 4).tokens == [order[0]]
        assert prefix_beam_search(lp, 4, InternalLMFusion(head, 1.0, 0.0)).tokens == [liked]


def test_a_fused_hypothesis_scores_its_ctc_log_prob_plus_the_teacher_forced_internal_lm(head: TransducerHead) -> None:
    rng = np.random.default_rng(0)
    log_probs = np.log(rng.dirichlet(np.ones(9) * 0.3, size=30)).astype(np.float32)  # (T, V), peaky
    hyp = prefix_beam_search(log_probs, 4, InternalLMFusion(head, 0.6, 0.4))
    acoustic = np.log(hyp.confidence) * len(log_probs)  # the confidence is the CTC log-prob per frame
    assert hyp.tokens
    assert hyp.score - acoustic == pytest.approx(teacher_forced(head, tuple(hyp.tokens), 0.6, 0.4), abs=1e-3)


def test_the_internal_lm_refuses_a_head_in_training_mode(head: TransducerHead) -> None:
    with pytest.raises(ValueError, match="eval"):
        InternalLMFusion(head.train())


def hybrid(heads: dict) -> Recognizer:
    torch.manual_seed(0)
    encoder = {"name": "conformer", "feat_in": 80, "d_model": 32, "n_layers": 1, "n_heads": 4,
               "subsampling_channels": 8, "subsampling_factor": 4}
    return Recognizer(CharTokenizer("abc '"), encoder, heads).eval()


def test_the_recognizer_fuses_its_rnnt_predictor_into_ctc_beam_search_and_it_decides_a_tie() -> None:
    model = hybrid({"ctc": {}, "rnnt": {"pred_dim": 16, "joint_dim": 16}})
    first = model.heads["rnnt"].internal_lm(1.0, 0.0)._next_log_probs(())
    ranked = [int(t) for t in torch.argsort(first[1:], descending=True) + 1]
    ranked = [t for t in ranked if model.tokenizer.decode([t]).strip()]  # tokens with visible text
    liked, disliked = ranked[0], ranked[-1]
    ctc = model.heads["ctc"]  # read encodings straight through: h[..., v] is the logit of token v
    vocab = ctc.proj.out_features
    with torch.no_grad():
        ctc.proj.weight.zero_()
        ctc.proj.weight[:, :vocab] = torch.eye(vocab)
        ctc.proj.bias.zero_()
    h = torch.full((1, 3, 32), -10.0)
    h[0, 0, [liked, disliked]] = 5.0
    h[0, 0, disliked] += 0.01  # the acoustics put the token the internal LM dislikes a hair ahead
    h[0, 1:, 0] = 10.0  # then blanks
    lengths = torch.tensor([3])
    [plain] = model.decode(h, lengths, head="ctc", beam=4)
    [fused] = model.decode(h, lengths, head="ctc", beam=4, ilm_weight=1.0, ilm_bonus=0.0)
    assert plain.tokens == [disliked] and fused.tokens == [liked]
    assert fused.text == model.tokenizer.decode([liked]) != plain.text


def test_decoding_with_the_internal_lm_and_its_refusals() -> None:
    model = hybrid({"ctc": {}, "rnnt": {"pred_dim": 16, "joint_dim": 16}})
    h, h_lengths = model.encoder(torch.randn(2, 64, 80), torch.tensor([64, 40]))
    plain = model.decode(h, h_lengths, head="ctc", beam=4)
    off = model.decode(h, h_lengths, head="ctc", beam=4, ilm_weight=0.0)
    assert [hyp.tokens for hyp in off] == [hyp.tokens for hyp in plain]
    with pytest.raises(ValueError, match="head 'ctc'"):
        model.decode(h, h_lengths, head="rnnt", beam=4, ilm_weight=0.5)
    with pytest.raises(ValueError, match="search 'beam'"):
        model.decode(h, h_lengths, head="ctc", ilm_weight=0.5)  # greedy
    with pytest.raises(ValueError, match="not both"):
        model.decode(h, h_lengths, head="ctc", beam=4, ilm_weight=0.5, lm=CharNgramLM.train(["abc"], order=2))
    with pytest.raises(ValueError, match="non-negative"):
        model.decode(h, h_lengths, head="ctc", beam=4, ilm_weight=-1.0)
    ctc_only = hybrid({"ctc": {}})
    with pytest.raises(ValueError, match="'rnnt' heads"):
        ctc_only.decode(*ctc_only.encoder(torch.randn(1, 64, 80), torch.tensor([64])), head="ctc", beam=4,
                        ilm_weight=0.5)


def test_preparing_the_beams_runs_one_batched_step_with_the_scores_of_single_steps(
        head: TransducerHead, monkeypatch: pytest.MonkeyPatch) -> None:
    fusion = InternalLMFusion(head, weight=0.7, bonus=0.25)
    steps = []
    real = head.predictor.step
    monkeypatch.setattr(head.predictor, "step", lambda tokens, state: steps.append(len(tokens)) or real(tokens, state))
    fusion.prepare([()])
    fusion.prepare([(1,), (2,), (3,)])
    fusion.prepare([(1, 4), (2, 5), (3, 3), (1,), (6, 6)])  # (1,) is cached; (6, 6) has no cached parent
    assert steps == [1, 3, 3, 1, 1]  # (), then a batch of 3, a batch of 3, then (6,) and (6, 6) one by one
    for prefix in [(1,), (2,), (3,), (1, 4), (2, 5), (3, 3), (6, 6)]:
        assert fusion.prefix_score(prefix) == pytest.approx(teacher_forced(head, prefix, 0.7, 0.25), abs=1e-5)
    assert len(steps) == 5  # everything was already there
    again = fusion.reweighted(0.1, 0.0)
    assert again.prefix_score((3, 3)) == pytest.approx(teacher_forced(head, (3, 3), 0.1, 0.0), abs=1e-5)
    assert len(steps) == 5  # the steps are shared


def test_beams_prepared_across_a_cache_restart_still_score_right(head: TransducerHead) -> None:
    fusion = InternalLMFusion(head, weight=1.0, bonus=0.0)
    fusion.CACHE_PREFIXES = 2
    beams = [()]
    for token in [1, 2, 3, 4, 5, 6]:
        fusion.prepare(beams)
        beams = [b + (token,) for b in beams] + [b + (token % 8 + 1,) for b in beams][:3]
    for prefix in beams:
        assert fusion.prefix_score(prefix) == pytest.approx(teacher_forced(head, prefix, 1.0, 0.0), abs=1e-4)
