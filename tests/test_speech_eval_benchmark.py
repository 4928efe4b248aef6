"""benchmarks/speech_eval.py with ``--peer pocketsphinx``: the peer reads the same audio and is
scored by the same groups, or is skipped in one line where it is not installed."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from benchmarks import speech_eval

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class FakeDecoder:
    """pocketsphinx's Decoder as the benchmark drives it, hearing "hello" in every utterance."""

    utterances: list[int] = []

    def __init__(self, samprate: int, loglevel: str) -> None:
        assert samprate == 16000

    def start_utt(self) -> None:
        pass

    def process_raw(self, data: bytes, full_utt: bool) -> None:
        FakeDecoder.utterances.append(len(data) // 2)  # int16 samples

    def end_utt(self) -> None:
        pass

    def hyp(self) -> types.SimpleNamespace:
        return types.SimpleNamespace(hypstr="HELLO")


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, module: object) -> str:
    """speech_eval's output on two bundled examples with ``module`` standing in for pocketsphinx."""
    monkeypatch.setitem(sys.modules, "pocketsphinx", module)
    monkeypatch.setattr(sys, "argv", ["speech_eval.py", "--model", "en-speech", "--manifest",
                                      str(EXAMPLES / "speech.jsonl"), "--files", "2", "--by", "voice",
                                      "--peer", "pocketsphinx"])
    speech_eval.main()
    return capsys.readouterr().out


def test_the_peer_reads_every_utterance_and_is_scored_by_the_same_groups(monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture) -> None:
    FakeDecoder.utterances = []
    out = run(monkeypatch, capsys, types.SimpleNamespace(Decoder=FakeDecoder))
    recog_part, peer_part = out.split("pocketsphinx (its bundled en-us model, one thread):\n")
    assert "WER: " in recog_part and "voice espeak: 1 utterances" in recog_part
    # the warm-up and the two utterances, as 16 kHz int16
    assert len(FakeDecoder.utterances) == 3 and abs(FakeDecoder.utterances[1] - 2.65 * 16000) < 160
    # "hello" (lower-cased) against "hello and welcome to the recognition toolkit" (7 words) and
    # "the weather will be sunny with a light breeze" (9 words): 6 + 9 errors in 16 words
    assert f"WER: {100 * 15 / 16:.2f} %" in peer_part
    assert "voice flite: 1 utterances, WER 85.71 %" in peer_part
    assert "voice espeak: 1 utterances, WER 100.00 %" in peer_part


def test_a_missing_peer_is_skipped_in_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    out = run(monkeypatch, capsys, None)  # a None entry in sys.modules makes the import fail
    assert out.count("skipped: pocketsphinx not installed (pip install pocketsphinx)") == 1
    assert "WER: " in out and "pocketsphinx (its" not in out
    assert np.isfinite(float(out.split("WER: ")[1].split(" %")[0]))
