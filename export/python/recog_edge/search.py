"""Searches in numpy over exported graphs: greedy CTC, transducer (``predictor.onnx`` +
``joiner.onnx``), attention decoder (``decoder.onnx``, one step with its KV cache) and CASS-NAT
(``cassnat.onnx``, every token at once from the greedy CTC path's segments), each giving the tokens,
timestamps (encoder frames), token probabilities, score and confidence that the PyTorch head's
greedy search gives (``Decoded``); and two beam searches with shallow fusion of a language model,
which recog runs too: CTC prefix beam search (``prefix_beam_search``) and modified transducer beam
search (``TransducerBeam``, one frame of it in ``beam_step``)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from recog_edge.fusion import NextTokenFusion, PrefixFusion, cached_start
from recog_edge.hypothesis import Hypothesis

NEG_INF = float("-inf")


@dataclass
class Decoded:
    """One input's greedy result: token ids, the encoder frame and probability of each, the
    search's log-probability (``score``) and its confidence in [0, 1], as ``recog``'s
    ``Hypothesis`` of the same search carries them."""

    tokens: list[int]
    stamps: list[int]
    probs: list[float]
    score: float
    confidence: float


def char_text(vocabulary: Sequence[str], tokens: Sequence[int]) -> str:
    """A character model's token ids -> text as ``recog.text.CharTokenizer.decode`` gives it:
    blank (0) and unknown (1) carry none, spaces at the ends are dropped."""
    return "".join(vocabulary[t] for t in tokens if t > 1).strip()


def path_segments(path: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    """A CTC path (one id per frame) -> its tokens and the first and last frame of each; the greedy
    CTC result (tokens, first frames), and CASS-NAT's trigger segments (``recog.heads.cassnat``)."""
    ids: list[int] = []
    first: list[int] = []
    last: list[int] = []
    for t, c in enumerate(path):
        if c != 0 and (t == 0 or path[t - 1] != c):
            ids.append(c)
            first.append(t)
            last.append(t)
        elif c != 0:
            last[-1] = t
    return ids, first, last


class GreedyOutput:
    """What a greedy search shows mid-stream: its tokens never change, so all of them are stable."""

    tokens: list[int]
    stamps: list[int]

    def output(self, final: bool = False) -> tuple[list[int], list[int], list[int]]:
        """(tokens, their frames, the stable token prefix) to show; ``final`` changes nothing here."""
        return self.tokens, self.stamps, self.tokens


class CTCGreedy(GreedyOutput):
    """Greedy CTC over frames as they come: ``tokens``, their first ``stamps`` (frames from the
    start of the search) and posteriors there (``probs``); ``score``: the best path's
    log-probability (``recog.decoding.ctc.greedy_decode``)."""

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.stamps: list[int] = []
        self.probs: list[float] = []
        self.score = 0.0
        self.frames = 0
        self.last_id = 0

    def advance(self, log_probs: np.ndarray) -> None:
        """log_probs: (T, V) of the next T frames."""
        best_ids = log_probs.argmax(axis=-1)  # (T,)
        best_lp = log_probs[np.arange(len(log_probs)), best_ids]  # (T,)
        for t, best in enumerate(best_ids.tolist()):
            if best != 0 and best != self.last_id:
                self.tokens.append(best)
                self.stamps.append(self.frames + t)
                self.probs.append(math.exp(float(best_lp[t])))
            self.last_id = best
        self.score += float(best_lp.sum())
        self.frames += len(log_probs)

    def result(self) -> Decoded:
        return Decoded(list(self.tokens), list(self.stamps), list(self.probs), self.score,
                       math.exp(self.score / max(self.frames, 1)))


class TransducerGreedy(GreedyOutput):
    """Greedy transducer search over frames as they come, at most ``max_symbols`` tokens a frame,
    the prediction network's context starting at blank (``recog.decoding.transducer``).

    The joiner reads up to ``window`` frames in one call with the same predictor output, up to the
    first frame that emits a token: the blank frames between tokens cost one onnxruntime call, not
    one each. (onnxruntime's CPU Gemm gives each row bit for bit what a one-row call gives; checked
    on en-speech's 500 test utterances. Elsewhere a near-tie could in principle read otherwise.)"""

    def __init__(self, predictor: Any, joiner: Any, meta: dict[str, Any], window: int = 8) -> None:
        self.predictor, self.joiner = predictor, joiner
        self.max_symbols = int(meta["max_symbols"])
        if self.max_symbols < 1 or window < 1:
            raise ValueError(f"max_symbols and window must be at least 1, got {self.max_symbols} and {window}")
        self.window = window
        self.state = predictor_state(meta)
        self.pred: np.ndarray | None = None  # (1, J) projected predictor output
        self.tokens: list[int] = []
        self.stamps: list[int] = []
        self.probs: list[float] = []
        self.score = 0.0  # every joiner step's best log-probability, blanks included
        self.frames = 0

    def advance(self, encoded: np.ndarray) -> None:
        """encoded: (T, D) encoder frames."""
        if self.pred is None:
            self._predict(0)
        t, emitted = 0, 0  # the frame the joiner reads next; tokens emitted at it so far
        while t < len(encoded):
            log_probs = self.joiner.run(None, {"encoded": encoded[t: t + self.window], "pred": self.pred})[0]  # (K, V)
            best = log_probs.argmax(axis=-1).tolist()
            k = 0
            while k < len(best) and best[k] == 0:  # frames that emit nothing: their blanks' scores
                self.score += float(log_probs[k, 0])
                k += 1
            if k:
                t, emitted = t + k, 0
            if k == len(best):
                continue
            token = best[k]
            self.score += float(log_probs[k, token])
            self.tokens.append(token)
            self.stamps.append(self.frames + t)
            self.probs.append(math.exp(float(log_probs[k, token])))
            self._predict(token)
            emitted += 1
            if emitted >= self.max_symbols:
                t, emitted = t + 1, 0
        self.frames += len(encoded)

    def result(self) -> Decoded:
        return Decoded(list(self.tokens), list(self.stamps), list(self.probs), self.score,
                       math.exp(self.score / max(self.frames, 1)))

    def _predict(self, token: int) -> None:
        self.pred, self.state = predictor_step(self.predictor, np.array([token], dtype=np.int64), self.state)


class TransducerBeam:
    """Modified transducer beam search over frames as they come (``recog.decoding.transducer``'s
    ``beam_advance``): at most one token a frame, ``beam`` hypotheses, equal token sequences merged
    (their probabilities added), and a language model's score (``fusion``) added where hypotheses
    are ranked; the final ranking adds its end-of-text score. ``tokens`` / ``stamps`` are the best
    hypothesis's so far, ``output`` adds the prefix every live one shares, ``result`` the finished
    search (as ``BeamSearch.best``: the score includes the fusion score, the confidence is the
    transducer's alone). The predictor and joiner run once a frame on every hypothesis together."""

    def __init__(self, predictor: Any, joiner: Any, meta: dict[str, Any], beam: int,
                 fusion: PrefixFusion | None = None) -> None:
        if beam < 2:
            raise ValueError(f"a beam search needs a beam of at least 2, got {beam} (1 is greedy search)")
        self.predictor, self.joiner, self.beam, self.fusion = predictor, joiner, beam, fusion
        self.axes = {f"state_{i}": int(spec["batch_axis"]) for i, spec in enumerate(meta["state"])}
        # pred (H, J); each state with H along its batch axis
        self.pred, self.state = predictor_step(predictor, np.zeros(1, dtype=np.int64), predictor_state(meta))
        self.hyps: list[dict[str, Any]] = [{"tokens": (), "score": 0.0, "lm": 0.0, "stamps": (), "probs": ()}]
        self.frames = 0

    def advance(self, encoded: np.ndarray) -> None:
        """encoded: (T, D) encoder frames."""
        for i in range(len(encoded)):
            self._frame(encoded[i], self.frames + i)
        self.frames += len(encoded)

    def _frame(self, frame: np.ndarray, t: int) -> None:
        lp = self.joiner.run(None, {"encoded": np.repeat(frame[None], len(self.hyps), axis=0), "pred": self.pred})[0]
        self.hyps = beam_step(self.hyps, lp, t, self.beam, self.fusion)  # lp: (H, V)
        src_rows = np.array([h["src"] for h in self.hyps], dtype=np.int64)
        state = {name: np.take(s, src_rows, axis=self.axes[name]) for name, s in self.state.items()}
        pred = self.pred[src_rows]
        extend = np.array([h["token"] is not None for h in self.hyps])
        if extend.any():
            tokens = np.array([h["token"] or 0 for h in self.hyps], dtype=np.int64)
            new_pred, new_state = predictor_step(self.predictor, tokens, state)
            for name, s in state.items():
                shape = [1] * s.ndim
                shape[self.axes[name]] = -1
                state[name] = np.where(extend.reshape(shape), new_state[name], s)
            pred = np.where(extend[:, None], new_pred, pred)
        self.state, self.pred = state, pred

    @property
    def tokens(self) -> list[int]:
        return list(self.hyps[0]["tokens"])

    @property
    def stamps(self) -> list[int]:
        return list(self.hyps[0]["stamps"])

    def output(self, final: bool = False) -> tuple[list[int], list[int], list[int]]:
        """(tokens, their frames, the stable token prefix) to show: the best live hypothesis, or
        with ``final`` the best finished one (a fused LM scores each text's end, as offline)."""
        best = self.result() if final else None
        tokens, stamps = (best.tokens, best.stamps) if best else (self.tokens, self.stamps)
        return tokens, stamps, shared_prefix(self.hyps)  # every live hypothesis shares it: it can no longer change

    def result(self) -> Decoded:
        """The best hypothesis as a finished text (with ``fusion``, its end-of-text score added)."""
        best, score = finished_best(self.hyps, self.fusion)
        return Decoded(list(best["tokens"]), list(best["stamps"]), list(best["probs"]), score,
                       math.exp(best["score"] / max(self.frames, 1)))


class TransducerInternalLM(NextTokenFusion):
    """A transducer's internal LM from its exported graphs, as a fusion (``PrefixFusion``): a prefix
    scores ``weight * log P_ILM(prefix)``, the prediction network read through the joiner with a
    zero encoder frame, blank left out (``recog.decoding.internal_lm.InternalLMFusion``, the same
    on recog's side). Fused with a negative weight beside an LM, it is internal LM estimation's
    subtraction (``recog_edge.fusion.ilme_weight``). Steps are cached by prefix."""

    CACHE_PREFIXES = 200_000  # the prefix cache starts over beyond this many prefixes

    def __init__(self, predictor: Any, joiner: Any, meta: dict[str, Any], weight: float) -> None:
        super().__init__(weight, 0.0)
        self.predictor, self.joiner, self.meta = predictor, joiner, meta
        dim = next(i.shape[-1] for i in joiner.get_inputs() if i.name == "encoded")
        self.zero = np.zeros((1, int(dim)), dtype=np.float32)  # (1, D) encoder frame
        # prefix -> (log P_ILM(next token | prefix) (V,), predictor output (1, J), state after it)
        self._next: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]] = {}

    def _store(self, prefix: tuple[int, ...], token: int, state: dict[str, np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """One predictor step after ``token`` from ``state``: the entry of ``prefix``, cached."""
        pred, state = predictor_step(self.predictor, np.array([token], dtype=np.int64), state)
        lp = self.joiner.run(None, {"encoded": self.zero, "pred": pred})[0][0].astype(np.float64)  # (V,)
        rest = lp[1:]
        lp = lp - (rest.max() + np.log(np.exp(rest - rest.max()).sum()))  # renormalised without blank
        lp[0] = -np.inf
        if len(self._next) > self.CACHE_PREFIXES:  # a long search: start over
            self._next, self._scores = {}, {(): 0.0}
        self._next[prefix] = (lp, pred, state)
        return lp, pred, state

    def _next_log_probs(self, prefix: tuple[int, ...]) -> np.ndarray:
        """(V,) log P_ILM(next token | prefix), built on its longest cached start (usually its parent)."""
        cache = self._next  # one read: a step below may start the cache over
        known = cached_start(prefix, cache)
        if known < 0:  # the predictor starts from blank, as in training
            entry, known = self._store((), 0, predictor_state(self.meta)), 0
        else:
            entry = cache[prefix[:known]]
        for end in range(known + 1, len(prefix) + 1):
            entry = self._store(prefix[:end], prefix[end - 1], entry[2])
        return entry[0]


def predictor_state(meta: dict[str, Any]) -> dict[str, np.ndarray]:
    """A fresh state of an exported prediction network for one hypothesis: ``state_i`` -> zeros."""
    return {f"state_{i}": zeros_for_one(spec) for i, spec in enumerate(meta["state"])}


def predictor_step(predictor: Any, tokens: np.ndarray, state: dict[str, np.ndarray]
                   ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``predictor.onnx`` on the last tokens (N,) and their state -> projected output (N, J), new state."""
    pred, *new = predictor.run(None, {"tokens": tokens, **state})
    return pred, dict(zip(state, new, strict=True))


def beam_step(hyps: list[dict[str, Any]], log_probs: np.ndarray, t: int, beam: int,
              fusion: PrefixFusion | None) -> list[dict[str, Any]]:
    """One frame of modified transducer beam search (recog's and the edge runtime's). Each
    hypothesis's joiner log-probabilities ``log_probs`` (H, V) propose candidates: the ``beam``
    * H best by the parent's fused score plus the token's log-probability (float32, ties to the
    lower hypothesis and token) extend their hypotheses (blank: the same tokens), equal token
    sequences merge (probabilities added, the likelier route's state kept), a new token's prefix
    gets the LM's score, and the ``beam`` best by transducer + LM score stay. A hypothesis:
    tokens, score (transducer log-probability), lm, stamps (frame of each token), probs, and for
    the caller src (the hypothesis it came from) and token (the one it added, None for blank)."""
    log_probs = np.asarray(log_probs, dtype=np.float32)
    vocab = log_probs.shape[1]
    ranked = np.array([h["score"] + h["lm"] for h in hyps], dtype=np.float32)
    flat = (ranked[:, None] + log_probs).ravel()
    candidates = np.argsort(-flat, kind="stable")[: min(beam, vocab) * len(hyps)].tolist()
    lp_rows = log_probs.tolist()
    merged: dict[tuple[int, ...], dict[str, Any]] = {}
    for index in candidates:
        src, token = divmod(index, vocab)
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
        else:
            keep = old if old["score"] >= score else new
            merged[new["tokens"]] = {**keep, "score": float(np.logaddexp(old["score"], score))}
    return sorted(merged.values(), key=lambda h: h["score"] + h["lm"], reverse=True)[:beam]


def shared_prefix(hyps: list[dict[str, Any]]) -> list[int]:
    """The longest token prefix all ``hyps`` share."""
    prefix = list(hyps[0]["tokens"])
    for h in hyps[1:]:
        n = 0
        while n < min(len(prefix), len(h["tokens"])) and prefix[n] == h["tokens"][n]:
            n += 1
        prefix = prefix[:n]
    return prefix


def finished_best(hyps: list[dict[str, Any]], fusion: PrefixFusion | None) -> tuple[dict[str, Any], float]:
    """The best of ``hyps`` ranked as finished texts (``fusion``'s end-of-text score added), and
    that score (transducer + LM)."""
    final = [h["score"] + (fusion.final_score(h["tokens"]) if fusion else h["lm"]) for h in hyps]
    index = max(range(len(final)), key=final.__getitem__)
    return hyps[index], final[index]


def attention_greedy(decoder: Any, meta: dict[str, Any], keys: np.ndarray, values: np.ndarray,
                     frames: int) -> Decoded:
    """Greedy search over ``decoder.onnx`` for one input: its cross-attention ``keys`` / ``values``
    (layers, 1, H, T, d_head) over ``frames`` real encoder frames -> tokens and, for each, the frame
    the last layer attends to most. At most ``frames`` tokens (``recog.decoding.attention``), never
    the blank; the score counts the end token, the confidence is per token and end."""
    eos = int(meta["eos"])
    cache = np.zeros(meta["cache"]["shape"], dtype=meta["cache"]["dtype"])  # (layers, 2, 1, H, 0, d_head)
    token, tokens, stamps, probs, score = int(meta["sos"]), [], [], [], 0.0
    lengths = np.array([frames], dtype=np.int64)
    for step in range(frames + 1):
        log_probs, attended, cache = decoder.run(None, {
            "tokens": np.array([token], dtype=np.int64), "memory_keys": keys, "memory_values": values,
            "encoded_lengths": lengths, "cache": cache})
        scores = log_probs[0].copy()  # (V + 1,)
        scores[0] = -np.inf
        token = eos if step >= frames else int(scores.argmax())
        score += float(scores[token])
        if token == eos:
            break
        tokens.append(token)
        stamps.append(int(attended[0]))
        probs.append(math.exp(float(scores[token])))
    return Decoded(tokens, stamps, probs, score, math.exp(score / (len(tokens) + 1)))


def cassnat_greedy(decoder: Any, encoded: np.ndarray, ctc_log_probs: np.ndarray) -> Decoded:
    """CASS-NAT for one input: the greedy CTC path of ``ctc_log_probs`` (T, V) gives each token its
    segment of the ``encoded`` frames (T, D); ``cassnat.onnx`` reads every token at once -> tokens
    and the first frame of each segment. The score adds the path's CTC log-probability to the
    tokens'; the confidence is the tokens' alone (``recog.heads.cassnat``)."""
    path = ctc_log_probs.argmax(axis=-1)  # (T,)
    alignment = float(ctc_log_probs[np.arange(len(path)), path].sum())
    ids, first, last = path_segments(path.tolist())
    if not ids:
        return Decoded([], [], [], alignment, 1.0)
    log_probs = decoder.run(None, {"encoded": encoded[None], "encoded_lengths": np.array([len(encoded)], np.int64),
                                   "last_frames": np.array([last], dtype=np.int64)})[0][0]  # (U, V), blank -inf
    best = log_probs.argmax(axis=-1)  # (U,)
    best_lp = log_probs[np.arange(len(best)), best]
    decoded = float(best_lp.sum())
    return Decoded(best.tolist(), first, np.exp(best_lp).tolist(), decoded + alignment,
                   math.exp(decoded / len(ids)))


def zeros_for_one(spec: dict[str, Any]) -> np.ndarray:
    """Zeros of an exported state's shape with its batch axis set to 1."""
    shape = list(spec["shape"])
    shape[spec["batch_axis"]] = 1
    return np.zeros(shape, dtype=spec["dtype"])


def _add_path(nxt: dict[tuple[int, ...], list[float]], best: dict[tuple[int, ...], tuple[float, tuple[int, ...]]],
              prefix: tuple[int, ...], ends_in_blank: bool, logp: float, times: tuple[int, ...]) -> None:
    """Add one path's probability to ``prefix`` and keep the timestamps of its likeliest path."""
    slot = nxt[prefix]
    slot[0 if ends_in_blank else 1] = np.logaddexp(slot[0 if ends_in_blank else 1], logp)
    if prefix not in best or logp > best[prefix][0]:
        best[prefix] = (logp, times)


def prefix_beam_search(log_probs: np.ndarray, beam: int, fusion: PrefixFusion | None = None) -> Hypothesis:
    """CTC prefix beam search over one utterance's (T, V) log-probabilities.

    Each prefix keeps log P(ending in blank), log P(ending in its last token), and the frames at
    which its tokens were emitted along its most probable contribution (so timestamps follow the
    likely alignment, not the first path that happened to create the prefix). Per frame only the
    ``beam`` most likely tokens extend prefixes. The result's ``nbest`` holds every final prefix,
    best first (the n-best that attention rescoring reranks).

    ``fusion``: a language model whose prefix score is added when prefixes are ranked (shallow
    fusion); hypothesis scores then include it, and finished prefixes are ranked with its
    end-of-text probability.
    """
    def rank_key(kv: tuple[tuple[int, ...], list[float] | tuple[float, float]], final: bool = False) -> float:
        prefix, (p_blank, p_token) = kv
        lm = 0.0 if fusion is None else (fusion.final_score if final else fusion.prefix_score)(prefix)
        return float(np.logaddexp(p_blank, p_token)) + lm

    frames, vocab = log_probs.shape
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG_INF)}
    stamps: dict[tuple[int, ...], tuple[int, ...]] = {(): ()}
    k = min(beam, vocab)
    for t in range(frames):
        if fusion is not None:
            fusion.prepare(beams)  # this frame extends these prefixes
        lp = log_probs[t]
        candidates = [int(c) for c in np.argpartition(-lp, k - 1)[:k] if c != 0]
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [NEG_INF, NEG_INF])
        best: dict[tuple[int, ...], tuple[float, tuple[int, ...]]] = {}
        add = partial(_add_path, nxt, best)
        for prefix, (p_blank, p_token) in beams.items():
            total = np.logaddexp(p_blank, p_token)
            add(prefix, True, total + lp[0], stamps[prefix])
            for c in candidates:
                if prefix and c == prefix[-1]:
                    add(prefix, False, p_token + lp[c], stamps[prefix])  # repeat collapses
                    extend_from = p_blank  # a repeated token needs a blank between
                else:
                    extend_from = total
                add(prefix + (c,), False, extend_from + lp[c], stamps[prefix] + (t,))
        ranked = sorted(nxt.items(), key=rank_key, reverse=True)[:beam]
        beams = {p: (v[0], v[1]) for p, v in ranked}
        stamps = {p: best[p][1] for p in beams}
    final = partial(rank_key, final=True)
    ranked = sorted(beams.items(), key=final, reverse=True)  # stable: ties keep order
    nbest = [_prefix_hypothesis(prefix, final((prefix, p)), list(stamps[prefix]), log_probs,
                                acoustic=float(np.logaddexp(*p))) for prefix, p in ranked]
    return replace(nbest[0], nbest=nbest)


def _prefix_hypothesis(prefix: tuple[int, ...], score: float, times: list[int], log_probs: np.ndarray,
                       acoustic: float) -> Hypothesis:
    """A finished prefix; its confidence comes from the CTC (acoustic) log-probability alone."""
    return Hypothesis(tokens=list(prefix), score=score, confidence=float(np.exp(acoustic / max(len(log_probs), 1))),
                      timestamps=times,
                      token_confidences=[float(np.exp(log_probs[t, c])) for t, c in zip(times, prefix, strict=True)])
