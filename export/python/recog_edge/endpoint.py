"""Endpointing: when a stream's utterance ends (sherpa-onnx's three rules). One implementation
for the PyTorch streams (``recog.streaming``) and the edge streams (``recog_edge.runtime``), so
both close utterances at the same frames."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EndpointConfig:
    """When an utterance ends (sherpa-onnx's three rules). ``silence_before_speech``: seconds
    without any token since the utterance started (the silence is dropped, no segment is made);
    ``trailing_silence``: seconds without a new token after at least one token; ``max_utterance``:
    seconds since the utterance started. ``enabled=False`` keeps one utterance for the whole stream
    (what offline decoding of the same file gives). ``reset``: when a rule fires, close the
    utterance at once (its text moves to ``result.segments``); False leaves that to the
    application, which asks ``is_endpoint`` and calls ``reset`` as sherpa-onnx applications do."""

    enabled: bool = True
    reset: bool = True
    silence_before_speech: float = 2.4
    trailing_silence: float = 1.2
    max_utterance: float = 20.0


def endpoint_reached(rule: EndpointConfig, frames: int, last_emit: int, frame_seconds: float) -> bool:
    """Whether ``rule`` ends an utterance of ``frames`` encoder frames so far whose newest token came
    at frame ``last_emit`` (-1: none yet), each frame ``frame_seconds`` long."""
    if not rule.enabled:
        return False
    silence = (frames - 1 - last_emit) * frame_seconds
    limit = rule.trailing_silence if last_emit >= 0 else rule.silence_before_speech
    return silence >= limit or frames * frame_seconds >= rule.max_utterance
