"""recog_edge.search.TransducerGreedy: the joiner read several frames a call decides as one call a
step does, the max_symbols cap included, across chunk boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recog_edge.search import TransducerGreedy


class CountingPredictor:
    """A predictor whose output is the number of tokens it has been fed (blank start excluded)."""

    def run(self, _outputs: None, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        count = feed["state_0"] + (feed["tokens"][0] != 0)
        return [count.reshape(1, 1).astype(np.float32), count]


class TargetJoiner:
    """Each frame holds the running token count the text should reach by its end: the joiner emits
    the next token while the predictor's count is below it, else blank."""

    calls = 0

    def run(self, _outputs: None, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        type(self).calls += 1
        target, count = feed["encoded"][:, 0], feed["pred"][:, 0]  # (N,), (N,)
        out = np.full((len(target), 7), -5.0, dtype=np.float32)
        emit = count < target
        out[~emit, 0] = -0.25
        out[np.flatnonzero(emit), 2 + count[emit].astype(int) % 5] = -0.5
        return [out]


META = {"max_symbols": 2, "state": [{"shape": [1, 1], "batch_axis": 0, "dtype": "float32"}]}
# cumulative counts: one token at frame 1, three at frame 3 (the cap lets two out), one at frame 7
TARGETS = np.array([0, 1, 1, 4, 4, 4, 4, 5, 5, 5], dtype=np.float32)[:, None]


def search(window: int, chunks: list[np.ndarray]) -> TransducerGreedy:
    greedy = TransducerGreedy(CountingPredictor(), TargetJoiner(), META, window=window)
    for chunk in chunks:
        greedy.advance(chunk)
    return greedy


def test_one_frame_a_call_follows_the_rule_and_the_cap() -> None:
    result = search(1, [TARGETS]).result()
    # frame 3 wants three tokens, the cap lets two out; frame 4 emits the third, frame 7 the fifth
    assert result.tokens == [2, 3, 4, 5, 6]
    assert result.stamps == [1, 3, 3, 4, 7]
    assert result.probs == pytest.approx([math.exp(-0.5)] * 5)
    assert result.score == pytest.approx(5 * -0.5 + 9 * -0.25)  # 5 tokens; a blank ends every frame but 3


@pytest.mark.parametrize("window", [2, 3, 16])
@pytest.mark.parametrize("cut", [None, 3, 5])
def test_reading_frames_in_windows_decides_alike_in_fewer_calls(window: int, cut: int | None) -> None:
    chunks = [TARGETS] if cut is None else [TARGETS[:cut], TARGETS[cut:]]
    TargetJoiner.calls = 0
    stepwise = search(1, chunks).result()
    steps = TargetJoiner.calls
    TargetJoiner.calls = 0
    windowed = search(window, chunks).result()
    assert windowed == stepwise
    assert TargetJoiner.calls < steps
