"""Audio fed to a streaming recogniser block by block, for recog and recog-edge alike: the check
that a command has one source, a signal's blocks (at the pace of a live source on request), the
microphone's blocks, the loop that feeds them to any recogniser with ``create_stream`` and
``decode`` (recog's ``StreamingRecognizer`` and ``EdgeModel``), and the printer of the
``partial:`` / ``final:`` lines both commands show."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from recog_edge.results import StreamResult


def check_source(file: str | None, mic: bool) -> None:
    """What ``recog stream`` and ``recog-edge stream`` read: an audio ``file`` or the microphone
    (``mic``), exactly one; ValueError where both or neither are given."""
    if mic == bool(file):
        raise ValueError("give an audio FILE or --mic, not both")


def file_blocks(samples: np.ndarray, sample_rate: int, block_seconds: float, realtime: bool = False
                ) -> Iterator[np.ndarray]:
    """``samples`` in blocks of ``block_seconds``; with ``realtime``, each block no sooner than
    its audio would have arrived from a live source."""
    block = max(1, int(sample_rate * block_seconds))
    start_time = time.perf_counter()
    for start in range(0, len(samples), block):
        if realtime:
            time.sleep(max(0.0, start / sample_rate - (time.perf_counter() - start_time)))
        yield np.asarray(samples[start: start + block])


def microphone_blocks(sample_rate: int, block_seconds: float) -> Iterator[np.ndarray]:
    """Mono float32 blocks of ``block_seconds`` from the default input device, without end (the
    caller stops, e.g. on Ctrl-C). Needs the optional package ``sounddevice``: its absence is an
    error at once, not at the first block."""
    try:
        import sounddevice
    except ImportError:
        raise ValueError("the microphone needs the optional package sounddevice (pip install sounddevice)") from None
    block = int(sample_rate * block_seconds)

    def blocks() -> Iterator[np.ndarray]:
        with sounddevice.InputStream(samplerate=sample_rate, channels=1, dtype="float32", blocksize=block) as mic:
            while True:
                samples, _ = mic.read(block)
                yield samples[:, 0]

    return blocks()


def stream_blocks(recognizer: Any, blocks: Iterable[np.ndarray], sample_rate: int,
                  on_update: Callable[[StreamResult], None] | None = None) -> Any:
    """Feed ``blocks`` of audio at ``sample_rate`` through a new stream of ``recognizer`` (anything
    with ``create_stream()`` and ``decode(stream)``), decoding as chunks complete and calling
    ``on_update`` with the result after each block and at the end; returns the finished stream.
    Ctrl-C ends the input (the stream still finishes)."""
    stream = recognizer.create_stream()
    try:
        for samples in blocks:
            stream.accept_waveform(sample_rate, samples)
            recognizer.decode(stream)
            if on_update is not None:
                on_update(stream.result)
    except KeyboardInterrupt:
        pass
    stream.input_finished()
    recognizer.decode(stream)
    if on_update is not None:
        on_update(stream.result)
    return stream


def update_printer() -> Callable[[StreamResult], None]:
    """A printer of a stream's progress: each finished utterance as ``final: TEXT`` once, and the
    open utterance as ``partial: TEXT`` whenever it changes (``recog stream``'s lines)."""
    shown: list[Any] = ["", 0]

    def show(result: StreamResult) -> None:
        if (result.text, len(result.segments)) != tuple(shown):
            for segment in result.segments[shown[1]:]:
                print(f"final: {segment}", flush=True)
            if result.text:
                print(f"partial: {result.text}", flush=True)
            shown[:] = [result.text, len(result.segments)]

    return show
