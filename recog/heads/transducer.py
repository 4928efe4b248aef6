"""RNN-Transducer head: prediction network (LSTM or stateless), joiner, loss, greedy and
modified beam search. Blank = 0, which also starts every prediction-network context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recog.heads.rnnt_loss import rnnt_loss
from recog.hypothesis import Hypothesis
from recog.lm import LMFusion

LOSS_IMPLEMENTATIONS = ("auto", "recog", "torchaudio")


def torchaudio_rnnt_loss():
    """torchaudio.functional.rnnt_loss where torchaudio imports (its PyPI wheels do not import
    beside the CPU torch), else None."""
    try:
        import warnings

        import torchaudio.functional as taf

        warnings.filterwarnings("ignore", message=r".*rnnt_loss has been deprecated", category=UserWarning)
        return taf.rnnt_loss
    except Exception:  # noqa: BLE001 - OSError / ImportError / RuntimeError all mean "not usable"
        return None

State = tuple[torch.Tensor, ...]


class LSTMPredictor(nn.Module):
    """Embedding + LSTM over previous tokens. State: (h, c), each (layers, N, H)."""

    def __init__(self, vocab_size: int, dim: int, layers: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        self.dim, self.layers = dim, layers
        self.embed = nn.Embedding(vocab_size, dim)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(dim, dim, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)

    def initial_state(self, n: int, device: torch.device) -> State:
        zeros = torch.zeros(self.layers, n, self.dim, device=device)
        return zeros, zeros.clone()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, U+1) tokens starting with blank -> (B, U+1, H), teacher forcing."""
        out, _ = self.lstm(self.dropout(self.embed(tokens)))
        return out

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """(N,) last tokens, state -> (N, H) output, new state."""
        out, (h, c) = self.lstm(self.embed(tokens)[:, None, :], state)
        return out[:, 0], (h, c)

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        return tuple(s[:, index] for s in state)

    @staticmethod
    def cat(states: list[State]) -> State:
        """The states of several searches as one batch."""
        return tuple(torch.cat(parts, dim=1) for parts in zip(*states, strict=True))

    @staticmethod
    def merge(state: State, update: State, mask: torch.Tensor) -> State:
        return tuple(torch.where(mask[None, :, None], u, s) for s, u in zip(state, update, strict=True))


class StatelessPredictor(nn.Module):
    """Embedding of the last ``context`` tokens mixed by a 1-D conv (icefall's stateless
    decoder). State: the last ``context`` tokens, (N, context)."""

    def __init__(self, vocab_size: int, dim: int, context: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab_size, dim)
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv1d(dim, dim, context, groups=max(1, dim // 4)) if context > 1 else None

    def initial_state(self, n: int, device: torch.device) -> State:
        return (torch.zeros(n, self.context, dtype=torch.long, device=device),)

    def _mix(self, embedded: torch.Tensor) -> torch.Tensor:
        # embedded: (B, context-1 + L, E) -> (B, L, E)
        if self.conv is None:
            return F.relu(embedded)
        return F.relu(self.conv(embedded.transpose(1, 2)).transpose(1, 2))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        padded = F.pad(tokens, (self.context - 1, 0), value=0)
        return self._mix(self.dropout(self.embed(padded)))

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        history = torch.cat([state[0][:, 1:], tokens[:, None]], dim=1)  # (N, context)
        return self._mix(self.embed(history))[:, -1], (history,)

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        return (state[0][index],)

    @staticmethod
    def cat(states: list[State]) -> State:
        """The states of several searches as one batch."""
        return (torch.cat([state[0] for state in states]),)

    @staticmethod
    def merge(state: State, update: State, mask: torch.Tensor) -> State:
        return (torch.where(mask[:, None], update[0], state[0]),)


class TransducerHead(nn.Module):
    """Prediction network + joiner ``Linear(tanh(enc + pred))`` on any (B, T, D) encoder.

    Args:
        predictor: "lstm" or "stateless". pred_dim: its width. joint_dim: joiner width.
        pred_layers: LSTM layers. context: stateless context size. max_symbols: greedy cap per frame.
        loss_impl: "recog" (our pure-PyTorch loss), "torchaudio" (requires it), or "auto": torchaudio's
            fused loss on CUDA where it imports, ours otherwise. Both give the same value.
    """

    def __init__(self, d_model: int, vocab_size: int, predictor: str = "lstm", pred_dim: int = 320,
                 joint_dim: int = 320, pred_layers: int = 1, context: int = 2, dropout: float = 0.1,
                 max_symbols: int = 5, loss_impl: str = "auto") -> None:
        super().__init__()
        if loss_impl not in LOSS_IMPLEMENTATIONS:
            raise ValueError(f"loss_impl must be one of {LOSS_IMPLEMENTATIONS}, got {loss_impl!r}")
        self.torchaudio_loss = torchaudio_rnnt_loss() if loss_impl != "recog" else None
        if loss_impl == "torchaudio" and self.torchaudio_loss is None:
            raise ValueError("loss_impl='torchaudio' but torchaudio does not import here")
        self.loss_impl = loss_impl
        self.vocab_size, self.max_symbols = vocab_size, max_symbols
        if predictor == "lstm":
            self.predictor: nn.Module = LSTMPredictor(vocab_size, pred_dim, pred_layers, dropout)
        elif predictor == "stateless":
            self.predictor = StatelessPredictor(vocab_size, pred_dim, context, dropout)
        else:
            raise ValueError(f"predictor must be 'lstm' or 'stateless', got {predictor!r}")
        self.enc_proj = nn.Linear(d_model, joint_dim)
        self.pred_proj = nn.Linear(pred_dim, joint_dim)
        self.out = nn.Linear(joint_dim, vocab_size)

    def joint(self, enc: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """Projected encoder and predictor outputs, broadcastable -> logits (..., V)."""
        return self.out(torch.tanh(enc + pred))

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor,
             target_lengths: torch.Tensor) -> torch.Tensor:
        """Transducer loss summed per utterance, averaged over the batch."""
        u_max = int(target_lengths.max())
        targets = targets[:, :u_max]
        pred = self.predictor(F.pad(targets, (1, 0), value=0))  # (B, U+1, P)
        logits = self.joint(self.enc_proj(h)[:, :, None], self.pred_proj(pred)[:, None])  # (B, T, U+1, V)
        use_torchaudio = self.torchaudio_loss is not None and (self.loss_impl == "torchaudio" or logits.is_cuda)
        if use_torchaudio:
            per_item = self.torchaudio_loss(logits.float(), targets.int(), h_lengths.int(), target_lengths.int(),
                                            blank=0, reduction="none")
            return per_item.sum() / h.shape[0]
        return rnnt_loss(logits.float(), targets, h_lengths, target_lengths)

    @torch.no_grad()
    def decode(self, h: torch.Tensor, h_lengths: torch.Tensor, beam: int = 1,
               max_symbols: int | None = None, fusion: LMFusion | None = None) -> list[Hypothesis]:
        """Batched greedy search (beam=1) or modified beam search per utterance (beam>1), the
        latter with an optional language model (``fusion``)."""
        if beam <= 1:
            if fusion is not None:
                raise ValueError("a language model needs beam search: use a beam above 1")
            return self.greedy_search(h, h_lengths, max_symbols or self.max_symbols)
        return self.beam_search(h, h_lengths, beam, fusion)

    @torch.no_grad()
    def greedy_search(self, h: torch.Tensor, lengths: torch.Tensor, max_symbols: int) -> list[Hypothesis]:
        """Batched greedy search emitting up to ``max_symbols`` tokens per frame."""
        search = self.greedy_start(h.shape[0], h.device)
        self.greedy_advance(search, h, lengths, max_symbols)
        return search.hypotheses()

    def greedy_start(self, batch: int, device: torch.device) -> GreedySearch:
        """Fresh greedy-search state for ``batch`` utterances (or streams)."""
        state = self.predictor.initial_state(batch, device)
        pred_out, state = self.predictor.step(torch.zeros(batch, dtype=torch.long, device=device), state)
        return GreedySearch(state=state, pred=self.pred_proj(pred_out), scores=torch.zeros(batch, device=device),
                            frames=torch.zeros(batch, dtype=torch.long), tokens=[[] for _ in range(batch)],
                            stamps=[[] for _ in range(batch)], probs=[[] for _ in range(batch)])

    @torch.no_grad()
    def greedy_advance(self, search: GreedySearch, h: torch.Tensor, lengths: torch.Tensor, max_symbols: int) -> None:
        """Run greedy search over more frames h (B, T, D) with valid lengths (B,), continuing
        ``search`` (timestamps count from the first frame ever given to it)."""
        enc = self.enc_proj(h)  # (B, T, J)
        state, pred = search.state, search.pred
        offset = search.frames.clone()
        for t in range(enc.shape[1]):
            active = t < lengths.to(enc.device)  # (B,)
            for _ in range(max_symbols):
                lp = F.log_softmax(self.joint(enc[:, t], pred), dim=-1)  # (B, V)
                best_lp, best = lp.max(dim=-1)
                emit = active & (best != 0)
                search.scores += torch.where(active, best_lp, torch.zeros_like(best_lp))
                if not bool(emit.any()):
                    break
                for b in emit.nonzero().squeeze(1).tolist():
                    search.tokens[b].append(int(best[b]))
                    search.stamps[b].append(int(offset[b]) + t)
                    search.probs[b].append(math.exp(float(best_lp[b])))
                new_out, new_state = self.predictor.step(best, state)
                state = self.predictor.merge(state, new_state, emit)
                pred = torch.where(emit[:, None], self.pred_proj(new_out), pred)
                active = emit  # only items that emitted may emit again at this frame
        search.state, search.pred = state, pred
        search.frames += lengths.cpu()

    @torch.no_grad()
    def beam_search(self, h: torch.Tensor, lengths: torch.Tensor, beam: int,
                    fusion: LMFusion | None = None) -> list[Hypothesis]:
        """Modified beam search per utterance: at most one symbol per frame, ``beam`` active
        hypotheses, equal token sequences merged (their probabilities added). ``fusion``: a
        language model whose score for each hypothesis's tokens is added where hypotheses are
        ranked (shallow fusion); the final ranking adds its end-of-text score. Each frame's
        candidates (beam x beam) are picked by their parents' fused score plus their transducer
        log-probability, then ranked with the LM score of their new token (icefall scores the
        new token before picking: the same where the pool holds the LM's favourites)."""
        results = []
        for b, n in enumerate(lengths.tolist()):
            search = self.beam_start(h.device)
            self.beam_advance(search, h[b, : int(n)], beam, fusion)
            results.append(search.best(fusion))
        return results

    def beam_start(self, device: torch.device) -> BeamSearch:
        """Fresh beam-search state for one utterance (or stream)."""
        state = self.predictor.initial_state(1, device)
        out, state = self.predictor.step(torch.zeros(1, dtype=torch.long, device=device), state)
        return BeamSearch(hyps=[{"tokens": (), "score": 0.0, "lm": 0.0, "stamps": (), "probs": ()}], state=state,
                          pred=self.pred_proj(out), frames=0)

    @torch.no_grad()
    def beam_advance(self, search: BeamSearch, h: torch.Tensor, beam: int, fusion: LMFusion | None = None) -> None:
        """Continue ``search`` over the valid frames h (T, D) of its utterance. A hypothesis's
        ``score`` is its transducer log-probability, ``lm`` its fusion score (0 without ``fusion``);
        hypotheses rank by their sum."""
        enc = self.enc_proj(h)
        device = enc.device
        hyps, state, pred = search.hyps, search.state, search.pred  # pred: (H, J) for the hypotheses
        k = min(beam, self.vocab_size)
        for i in range(enc.shape[0]):
            t = search.frames + i
            lp = F.log_softmax(self.joint(enc[i][None, :], pred), dim=-1)  # (H, V)
            lp_rows = lp.tolist()
            ranked = torch.tensor([h["score"] + h["lm"] for h in hyps], device=device)
            # candidates by fused score, before the LM scores their new token
            _, top_tok = (ranked[:, None] + lp).flatten().topk(min(k * len(hyps), lp.numel()))
            merged: dict[tuple[int, ...], dict[str, Any]] = {}
            for flat in top_tok.tolist():
                src, token = divmod(flat, self.vocab_size)
                h = hyps[src]
                score = h["score"] + lp_rows[src][token]
                if token == 0:
                    new = {**h, "score": score, "src": src, "token": None}
                else:
                    tokens = h["tokens"] + (token,)
                    new = {"tokens": tokens, "score": score, "lm": fusion.prefix_score(tokens) if fusion else 0.0,
                           "src": src, "token": token, "stamps": h["stamps"] + (t,),
                           "probs": h["probs"] + (math.exp(lp_rows[src][token]),)}
                old = merged.get(new["tokens"])
                if old is None:
                    merged[new["tokens"]] = new
                else:  # same output by two routes: add probabilities, keep the likelier route's state
                    keep = old if old["score"] >= score else new
                    merged[new["tokens"]] = {**keep, "score": float(np.logaddexp(old["score"], score))}
            hyps = sorted(merged.values(), key=lambda h: h["score"] + h["lm"], reverse=True)[:beam]
            src = torch.tensor([h["src"] for h in hyps], device=device)
            state = self.predictor.select(state, src)
            pred = pred[src]
            extend = torch.tensor([h["token"] is not None for h in hyps], device=device)
            if bool(extend.any()):
                tokens = torch.tensor([h["token"] or 0 for h in hyps], device=device)
                new_out, new_state = self.predictor.step(tokens, state)
                state = self.predictor.merge(state, new_state, extend)
                pred = torch.where(extend[:, None], self.pred_proj(new_out), pred)
        search.hyps, search.state, search.pred = hyps, state, pred
        search.frames += enc.shape[0]


@dataclass
class GreedySearch:
    """Batched transducer greedy search in progress (carried across chunks when streaming)."""

    state: State
    pred: torch.Tensor  # (B, J) projected predictor output after each item's last token
    scores: torch.Tensor  # (B,)
    frames: torch.Tensor  # (B,) frames consumed
    tokens: list[list[int]]
    stamps: list[list[int]]
    probs: list[list[float]]

    def hypotheses(self) -> list[Hypothesis]:
        return [Hypothesis(tokens=list(self.tokens[b]), score=float(self.scores[b]),
                           confidence=math.exp(float(self.scores[b]) / max(int(self.frames[b]), 1)),
                           timestamps=list(self.stamps[b]), token_confidences=list(self.probs[b]))
                for b in range(len(self.tokens))]


@dataclass
class BeamSearch:
    """One utterance's transducer beam search in progress (carried across chunks when streaming)."""

    hyps: list[dict[str, Any]]
    state: State
    pred: torch.Tensor  # (H, J)
    frames: int

    def best(self, fusion: LMFusion | None = None) -> Hypothesis:
        """The best hypothesis so far; with ``fusion``, ranked as finished texts (the LM's
        end-of-text score added). Its score includes the fusion score, its confidence is the
        transducer's alone."""
        final = [h["score"] + (fusion.final_score(h["tokens"]) if fusion else h["lm"]) for h in self.hyps]
        index = max(range(len(final)), key=final.__getitem__)
        best = self.hyps[index]
        return Hypothesis(tokens=list(best["tokens"]), score=final[index],
                          confidence=math.exp(best["score"] / max(self.frames, 1)), timestamps=list(best["stamps"]),
                          token_confidences=list(best["probs"]))

    def stable_tokens(self) -> list[int]:
        """The longest token prefix every live hypothesis shares: it can no longer change."""
        prefix = list(self.hyps[0]["tokens"])
        for h in self.hyps[1:]:
            n = 0
            while n < min(len(prefix), len(h["tokens"])) and prefix[n] == h["tokens"][n]:
                n += 1
            prefix = prefix[:n]
        return prefix
