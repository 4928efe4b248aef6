"""RNN-Transducer loss (Graves 2012) in plain PyTorch, exact, for CPU and GPU.

Memory: only the joiner logits (B, T, U+1, V) are kept for backward; the log-softmax is never
materialised (blank and target log-probabilities are read off ``logits - logsumexp``), and the
gradient is written straight from the alpha/beta occupancies (like torchaudio's fused
log-softmax). The lattice recursions run over T steps, each solving the whole U axis at once
with a log-cumulative-sum in float64 (the u-recursion alpha[t,u] = f(alpha[t,u-1]) is a prefix
log-sum-exp; float64 keeps the prefix-sum differences exact to far below 1e-6).
"""

from __future__ import annotations

import torch

NEG_INF = float("-inf")


def _lattice(blank: torch.Tensor, emit: torch.Tensor, t_lengths: torch.Tensor,
             u_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Occupancies of every blank and emit transition, and log P(y|x).

    blank, emit: (B, T, U+1) float64 log-probs of the blank / next target token at (t, u).
    Returns gamma_blank, gamma_emit (B, T, U+1) posteriors and log_prob (B,).
    """
    batch, frames, states = blank.shape
    device = blank.device
    u_index = torch.arange(states, device=device)
    # S[t, u] = sum_{k<u} emit[t, k]: prefix sums for the within-frame emission chain.
    prefix = torch.cat([emit.new_zeros(batch, frames, 1), emit[..., :-1].cumsum(-1)], dim=-1)

    alpha = blank.new_full((batch, frames, states), NEG_INF)
    entering = torch.where(u_index == 0, 0.0, NEG_INF).to(blank).expand(batch, states)  # (B, U+1)
    for t in range(frames):
        s = prefix[:, t]
        alpha[:, t] = s + torch.logcumsumexp(entering - s, dim=-1)
        entering = alpha[:, t] + blank[:, t]

    batch_index = torch.arange(batch, device=device)
    last_t = t_lengths - 1
    log_prob = alpha[batch_index, last_t, u_lengths] + blank[batch_index, last_t, u_lengths]  # (B,)

    # beta_after[t, u]: log-prob of finishing from (t+1, u) after a blank at (t, u).
    final = torch.where(u_index[None, :] == u_lengths[:, None], 0.0, NEG_INF).to(blank)  # (B, U+1)
    beta = blank.new_full((batch, frames, states), NEG_INF)
    beta_after = blank.new_full((batch, frames, states), NEG_INF)
    leaving = blank.new_full((batch, states), NEG_INF)
    for t in range(frames - 1, -1, -1):
        after = torch.where((t == last_t)[:, None], final, leaving)
        s = prefix[:, t]
        terms = s + blank[:, t] + after
        beta[:, t] = torch.logcumsumexp(terms.flip(-1), dim=-1).flip(-1) - s
        beta_after[:, t] = after
        leaving = beta[:, t]
    valid_t = (torch.arange(frames, device=device)[None, :] < t_lengths[:, None])[..., None]  # (B, T, 1)
    norm = log_prob[:, None, None]
    gamma_blank = torch.exp(alpha + blank + beta_after - norm) * valid_t
    next_beta = torch.cat([beta[..., 1:], beta.new_full((batch, frames, 1), NEG_INF)], dim=-1)
    valid_u = u_index[None, None, :] < u_lengths[:, None, None]
    gamma_emit = torch.exp(alpha + emit + next_beta - norm) * valid_t * valid_u
    return gamma_blank, gamma_emit, log_prob


class _RNNTLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits: torch.Tensor, targets: torch.Tensor, t_lengths: torch.Tensor,
                u_lengths: torch.Tensor) -> torch.Tensor:
        # logits: (B, T, U+1, V); targets: (B, U) padded with any valid id.
        lse = torch.logsumexp(logits, dim=-1)  # (B, T, U+1)
        batch, frames, states, _ = logits.shape
        next_token = torch.cat([targets, targets.new_zeros(batch, 1)], dim=1)  # (B, U+1)
        index = next_token[:, None, :, None].expand(batch, frames, states, 1)
        emit = (logits.gather(-1, index).squeeze(-1) - lse).double()
        blank = (logits[..., 0] - lse).double()
        gamma_blank, gamma_emit, log_prob = _lattice(blank, emit, t_lengths, u_lengths)
        ctx.save_for_backward(logits, lse, gamma_blank.to(logits.dtype), gamma_emit.to(logits.dtype), index)
        return (-log_prob).to(logits.dtype)

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor):
        logits, lse, gamma_blank, gamma_emit, index = ctx.saved_tensors
        # d(-log P)/d logits = softmax * (gamma_blank + gamma_emit) - gamma_blank at blank - gamma_emit at y.
        grad = torch.exp(logits - lse[..., None]) * (gamma_blank + gamma_emit)[..., None]
        grad[..., 0] -= gamma_blank
        grad.scatter_add_(-1, index, -gamma_emit[..., None])
        return grad * grad_loss[:, None, None, None], None, None, None


def rnnt_loss(logits: torch.Tensor, targets: torch.Tensor, logit_lengths: torch.Tensor,
              target_lengths: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Negative log-likelihood of ``targets`` under transducer ``logits``; blank id 0.

    Args:
        logits: (B, T, U+1, V) joiner outputs (unnormalised).
        targets: (B, U) int64, padded. logit_lengths: (B,) valid T. target_lengths: (B,) valid U.
        reduction: "none" (B,), "sum", or "mean" (sum / B).
    """
    losses = _RNNTLoss.apply(logits, targets.long(), logit_lengths.long(), target_lengths.long())
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.sum() / logits.shape[0]
    raise ValueError(f"reduction must be 'none', 'sum' or 'mean', got {reduction!r}")
