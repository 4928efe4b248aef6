"""RNN-Transducer: loss against exhaustive alignment enumeration, and search consistency."""

from __future__ import annotations

import itertools

import pytest
import torch

from recog.decoding.transducer import beam_search, greedy_search
from recog.heads.rnnt_loss import rnnt_loss
from recog.heads.transducer import TransducerHead


def exhaustive_nll(logits: torch.Tensor, targets: torch.Tensor, frames: int, length: int) -> torch.Tensor:
    """-log of the summed probability of every alignment: T blanks and U emissions in any order,
    each emission at a frame t < T, the last step a blank."""
    lp = logits[:frames, : length + 1].log_softmax(-1)
    paths = []
    for emit_steps in itertools.combinations(range(frames + length - 1), length):
        t = u = 0
        total = lp.new_zeros(())
        for step in range(frames + length):
            if step in emit_steps:
                total = total + lp[t, u, targets[u]]
                u += 1
            else:
                total = total + lp[t, u, 0]
                t += 1
        paths.append(total)
    return -torch.logsumexp(torch.stack(paths), 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_rnnt_loss_and_gradients_equal_exhaustive_enumeration(seed: int) -> None:
    torch.manual_seed(seed)
    batch, frames, length, vocab = 4, 5, 3, 6
    logits = torch.randn(batch, frames, length + 1, vocab, requires_grad=True)
    targets = torch.randint(1, vocab, (batch, length))
    t_lengths = torch.tensor([5, 4, 2, 1])
    u_lengths = torch.tensor([3, 1, 2, 0])
    ours = rnnt_loss(logits, targets, t_lengths, u_lengths, reduction="none")
    reference = torch.stack([exhaustive_nll(logits[b].double(), targets[b], int(t_lengths[b]), int(u_lengths[b]))
                             for b in range(batch)])
    assert torch.allclose(ours.double(), reference, atol=1e-5, rtol=0)
    (grad_ours,) = torch.autograd.grad(ours.sum(), logits)
    (grad_ref,) = torch.autograd.grad(reference.sum(), logits)
    assert torch.allclose(grad_ours.double(), grad_ref.double(), atol=1e-4, rtol=0)


def test_rnnt_loss_matches_finite_differences_in_float64() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 3, 5, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(1, 5, (2, 2))
    assert torch.autograd.gradcheck(
        lambda x: rnnt_loss(x, targets, torch.tensor([4, 3]), torch.tensor([2, 1])), (logits,))


def test_rnnt_loss_reductions() -> None:
    logits = torch.randn(3, 4, 3, 5)
    targets = torch.randint(1, 5, (3, 2))
    lengths, target_lengths = torch.tensor([4, 4, 2]), torch.tensor([2, 1, 2])
    per_item = rnnt_loss(logits, targets, lengths, target_lengths, reduction="none")
    assert per_item.shape == (3,) and bool((per_item > 0).all())
    assert torch.isclose(rnnt_loss(logits, targets, lengths, target_lengths, reduction="sum"), per_item.sum())
    assert torch.isclose(rnnt_loss(logits, targets, lengths, target_lengths), per_item.sum() / 3)


@pytest.fixture(params=["lstm", "stateless"])
def head(request: pytest.FixtureRequest) -> TransducerHead:
    torch.manual_seed(0)
    return TransducerHead(32, 12, predictor=request.param, pred_dim=24, joint_dim=24).eval()


def test_the_losss_lattice_logits_are_the_joint_at_every_frame_and_token(head: TransducerHead) -> None:
    """The loss's joint over the whole lattice (sigmoid form) is the searches' tanh joint."""
    h, tokens = torch.randn(2, 5, 32) * 3, torch.randint(0, 12, (2, 4))
    with torch.no_grad():
        pred = head.predictor(tokens)  # (2, 4, P)
        expected = head.joint(head.enc_proj(h)[:, :, None], head.pred_proj(pred)[:, None])
        torch.testing.assert_close(head.lattice_logits(h, pred), expected, rtol=0, atol=1e-5)


def test_greedy_with_one_symbol_per_frame_equals_beam_one(head: TransducerHead) -> None:
    h, lengths = torch.randn(3, 20, 32), torch.tensor([20, 15, 7])
    greedy = greedy_search(head, h, lengths, max_symbols=1)
    beam = beam_search(head, h, lengths, beam=1)
    assert [g.tokens for g in greedy] == [b.tokens for b in beam]
    assert [g.timestamps for g in greedy] == [b.timestamps for b in beam]
    assert [g.score for g in greedy] == pytest.approx([b.score for b in beam], abs=1e-4)


@pytest.mark.parametrize("beam", [1, 4])
def test_batched_search_equals_one_by_one(head: TransducerHead, beam: int) -> None:
    h, lengths = torch.randn(3, 20, 32), torch.tensor([20, 15, 7])
    batched = head.decode(h, lengths, beam=beam)
    for i in range(3):
        alone = head.decode(h[i:i + 1, : lengths[i]], lengths[i:i + 1], beam=beam)[0]
        assert alone.tokens == batched[i].tokens
        assert alone.timestamps == batched[i].timestamps
        assert alone.timestamps == sorted(alone.timestamps)
        assert all(0 <= t < lengths[i] for t in alone.timestamps)


def test_beam_search_score_is_at_least_greedy_one_symbol_score(head: TransducerHead) -> None:
    h, lengths = torch.randn(2, 15, 32), torch.tensor([15, 11])
    greedy = greedy_search(head, h, lengths, max_symbols=1)
    beam = beam_search(head, h, lengths, beam=8)
    for g, b in zip(greedy, beam, strict=True):
        assert b.score >= g.score - 1e-4


def test_the_lstm_predictor_trains_under_bfloat16_autocast_in_float32() -> None:
    """Training runs under bf16 autocast (the configs' precision); oneDNN has no bf16 LSTM on
    CPUs without AVX-512, so the predictor's recurrence stays float32 and the loss matches the
    float32 one."""
    torch.manual_seed(0)
    head = TransducerHead(32, 12, predictor="lstm", pred_dim=24, joint_dim=24)
    h, lengths = torch.randn(2, 6, 32), torch.tensor([6, 4])
    targets, target_lengths = torch.randint(1, 12, (2, 3)), torch.tensor([3, 2])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert head.predictor(torch.zeros(2, 4, dtype=torch.long)).dtype == torch.float32
        loss = head.loss(h, lengths, targets, target_lengths)
    loss.backward()
    assert torch.isfinite(loss) and head.predictor.lstm.weight_hh_l0.grad is not None
    assert float(loss) == pytest.approx(float(head.loss(h, lengths, targets, target_lengths)), rel=0.05)


@pytest.mark.parametrize("layers", [1, 2])
def test_the_searches_lstm_step_equals_nn_lstm_and_follows_new_weights(layers: int) -> None:
    """Searches step the LSTM cell written out, with a token table for the first layer's input;
    it gives nn.LSTM's outputs and states, and a weight update or load is seen at the next step."""
    from recog.heads.transducer import LSTMPredictor

    torch.manual_seed(0)
    predictor = LSTMPredictor(12, 16, layers=layers).eval()
    tokens, state = torch.tensor([0, 3, 11, 5]), (torch.randn(layers, 4, 16), torch.randn(layers, 4, 16))

    def both() -> tuple:
        with torch.no_grad():
            fast = predictor.step(tokens, state)
        with torch.enable_grad():
            reference = predictor.step(tokens, state)
        return fast, reference

    for _ in range(2):  # the second time through, after a training step changed every weight
        (out, (h, c)), (ref_out, (ref_h, ref_c)) = both()
        torch.testing.assert_close(out, ref_out.detach(), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(h, ref_h.detach(), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(c, ref_c.detach(), rtol=1e-5, atol=1e-6)
        ref_out.sum().backward()
        torch.optim.SGD(predictor.parameters(), lr=0.5).step()
    loaded = LSTMPredictor(12, 16, layers=layers).eval()
    with torch.no_grad():
        loaded.step(tokens, state)  # its table made from its own weights
    loaded.load_state_dict(predictor.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(loaded.step(tokens, state)[0], predictor.step(tokens, state)[0])
