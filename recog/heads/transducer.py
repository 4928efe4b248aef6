"""RNN-Transducer head: prediction network (LSTM or stateless), joiner and loss; its searches
are in ``recog.decoding.transducer``. Blank = 0, which also starts every prediction-network context.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.internal_lm import InternalLMFusion
from recog.decoding.options import DecodingOptions
from recog.decoding.transducer import State, TransducerStream, beam_search, greedy_search
from recog.heads.base import ExportPart, Head, StreamSearch
from recog.heads.rnnt_loss import rnnt_loss

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

class LSTMPredictor(nn.Module):
    """Embedding + LSTM over previous tokens. State: (h, c), each (layers, N, H)."""

    def __init__(self, vocab_size: int, dim: int, layers: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        self.dim, self.layers = dim, layers
        self.embed = nn.Embedding(vocab_size, dim)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(dim, dim, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self._table: torch.Tensor | None = None  # _input_table's, and the weight versions it was made from
        self._table_key: tuple = ()

    def initial_state(self, n: int, device: torch.device) -> State:
        zeros = torch.zeros(self.layers, n, self.dim, device=device)
        return zeros, zeros.clone()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, U+1) tokens starting with blank -> (B, U+1, H), teacher forcing. The LSTM runs in
        float32 under autocast: oneDNN has no bfloat16 LSTM on CPUs without AVX-512 (it fails to
        create the primitive), and this small recurrence gains nothing from it."""
        with torch.autocast(tokens.device.type, enabled=False):
            out, _ = self.lstm(self.dropout(self.embed(tokens)).float())
        return out

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """(N,) last tokens, state -> (N, H) output, new state. Without autograd (the searches,
        which call it per frame) and in an export the LSTM cell is written out and the first
        layer's input transform is a lookup in a token table (``_input_table``; in an export the
        graph computes it from the weights and onnxruntime folds it into a constant): about half
        nn.LSTM's time for one step of a small batch in PyTorch, whose per-call set-up dominates,
        and a third of the ONNX LSTM operator's in onnxruntime. Training runs nn.LSTM."""
        exporting = torch.compiler.is_exporting()
        if not exporting and (torch.is_grad_enabled() or torch.compiler.is_compiling()):
            out, (h, c) = self.lstm(self.embed(tokens)[:, None, :], state)
            return out[:, 0], (h, c)
        x, hs, cs = tokens, [], []
        for layer in range(self.layers):
            w_hh = getattr(self.lstm, f"weight_hh_l{layer}")
            if layer == 0:
                table = self._weights_table() if exporting else self._input_table()
                inputs = table[tokens]  # (N, 4H)
            else:
                inputs = F.linear(x, getattr(self.lstm, f"weight_ih_l{layer}"),
                                  getattr(self.lstm, f"bias_ih_l{layer}") + getattr(self.lstm, f"bias_hh_l{layer}"))
            gate_in, gate_forget, cell_in, gate_out = torch.addmm(inputs, state[0][layer], w_hh.t()).chunk(4, dim=1)
            cs.append(torch.sigmoid(gate_forget) * state[1][layer] + torch.sigmoid(gate_in) * torch.tanh(cell_in))
            x = torch.sigmoid(gate_out) * torch.tanh(cs[-1])  # (N, H)
            hs.append(x)
        return x, (torch.stack(hs), torch.stack(cs))

    def _input_table(self) -> torch.Tensor:
        """(V, 4H): every token's embedding through the first layer's input weights and both
        biases; made again whenever one of those tensors changes (a training step, a load)."""
        lstm = self.lstm
        tensors = (self.embed.weight, lstm.weight_ih_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
        key = tuple((t.data_ptr(), t._version, t.dtype) for t in tensors)
        if self._table is None or key != self._table_key:
            self._table = self._weights_table()
            self._table_key = key
        return self._table

    def _weights_table(self) -> torch.Tensor:
        """(V, 4H), computed from the weights (``_input_table`` keeps it)."""
        lstm = self.lstm
        return F.linear(self.embed.weight, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)

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


class TransducerHead(Head):
    """Prediction network + joiner ``Linear(tanh(enc + pred))`` on any (B, T, D) encoder.

    Args:
        predictor: "lstm" or "stateless". pred_dim: its width. joint_dim: joiner width.
        pred_layers: LSTM layers. context: stateless context size. max_symbols: greedy cap per frame.
        loss_impl: "recog" (our pure-PyTorch loss), "torchaudio" (requires it), or "auto": torchaudio's
            fused loss on CUDA where it imports, ours otherwise. Both give the same value.
    """

    searches = ("greedy", "beam")
    fusable = ("beam",)

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

    def lattice_logits(self, h: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """``joint`` over a whole lattice for the loss: encoder frames (B, T, D) and predictor outputs
        (B, U+1, P) -> logits (B, T, U+1, V). Written with tanh(z) = 2 sigmoid(2z) - 1, the factors
        folded into the small tensors and the output layer, so the one elementwise pass over the
        (B, T, U+1, J) lattice is a sigmoid: PyTorch's CPU tanh takes 4x a sigmoid's time, and the
        joint's forward and backward took 166 against 232 ms on an en-speech batch (one thread)."""
        hidden = torch.sigmoid((2 * self.enc_proj(h))[:, :, None] + (2 * self.pred_proj(pred))[:, None])
        return F.linear(hidden, 2 * self.out.weight, self.out.bias - self.out.weight.sum(1))

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
             intermediate: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """Transducer loss summed per utterance, averaged over the batch."""
        u_max = int(target_lengths.max())
        targets = targets[:, :u_max]
        pred = self.predictor(F.pad(targets, (1, 0), value=0))  # (B, U+1, P)
        logits = self.lattice_logits(h, pred)  # (B, T, U+1, V)
        use_torchaudio = self.torchaudio_loss is not None and (self.loss_impl == "torchaudio" or logits.is_cuda)
        if use_torchaudio:
            per_item = self.torchaudio_loss(logits.float(), targets.int(), h_lengths.int(), target_lengths.int(),
                                            blank=0, reduction="none")
            return per_item.sum() / h.shape[0]
        return rnnt_loss(logits.float(), targets, h_lengths, target_lengths)

    @torch.no_grad()
    def search(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
               fusion: PrefixFusion | None = None) -> list[Hypothesis]:
        """Batched greedy search (a beam of 1), or modified beam search per input (with ``fusion``)."""
        if options.beam <= 1:
            return greedy_search(self, h, h_lengths, self.max_symbols)
        return beam_search(self, h, h_lengths, options.beam, fusion)

    def stream_search(self, options: DecodingOptions, fusion: PrefixFusion | None = None) -> StreamSearch | None:
        return TransducerStream(self, options.beam, self.max_symbols, fusion)

    def internal_lm(self, weight: float, bonus: float) -> PrefixFusion:
        """The prediction network as a language model (internal LM estimation)."""
        return InternalLMFusion(self, weight, bonus)

    def export_parts(self) -> list[ExportPart]:
        """``predictor.onnx`` (last tokens + state -> projected output + new state) and
        ``joiner.onnx`` (encoder frames + projected predictor output -> log-probs)."""
        tokens = torch.tensor([0, 1, 2]) % self.vocab_size
        with torch.no_grad():  # a non-trivial state to check on
            state = self.predictor.step(tokens, self.predictor.initial_state(3, torch.device("cpu")))[1]
        names = [f"state_{i}" for i in range(len(state))]
        axes = {name: (1 if s.dim() == 3 else 0) for name, s in zip(names, state, strict=True)}
        meta = {"state": [{"shape": list(s.shape), "batch_axis": axes[n], "dtype": str(s.dtype)[6:]}
                          for n, s in zip(names, state, strict=True)],
                "max_symbols": self.max_symbols, "joint_dim": self.pred_proj.out_features}
        generator = torch.Generator().manual_seed(0)
        encoded = torch.randn(3, self.enc_proj.in_features, generator=generator)
        pred = torch.randn(3, self.pred_proj.out_features, generator=generator)
        # Both stay float32 in an int8 export: run per token and per frame on one row, the int8
        # predictor took 127 us a step against 92 us, the joiner 33 against 17 (onnxruntime 1.32,
        # one thread, en-speech; docs/results.md).
        return [ExportPart("predictor", PredictorStep(self).eval(), (tokens, *state), ["tokens", *names],
                           ["pred", *[f"new_{n}" for n in names]], {"tokens": 0, **axes}, 1, meta, int8=False),
                ExportPart("joiner", Joiner(self).eval(), (encoded, pred), ["encoded", "pred"], ["log_probs"],
                           {"encoded": 0, "pred": 0}, None, {}, int8=False)]


class PredictorStep(nn.Module):
    """The prediction network, one step: tokens (N,) + state -> (N, J) projected output + state."""

    def __init__(self, head: TransducerHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, tokens: torch.Tensor, *state: torch.Tensor) -> tuple:
        out, new_state = self.head.predictor.step(tokens, tuple(state))
        return (self.head.pred_proj(out), *new_state)


class Joiner(nn.Module):
    """The joiner: encoder frames (N, D) + projected predictor output (N, J) -> log-probs (N, V)."""

    def __init__(self, head: TransducerHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, encoded: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.head.joint(self.head.enc_proj(encoded), pred), dim=-1)
