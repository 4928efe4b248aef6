"""Property-based tests (Hypothesis): loaders given arbitrary bytes fail only with their own clear
error naming the file; tokenizers round-trip; CTC prefix beam search is exact when nothing is
pruned; transducer beam search of width 1 is greedy search of one symbol per frame; a stream's
text does not depend on how its audio is cut into pieces."""

from __future__ import annotations

import itertools
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recog.audio import AudioError, load_audio
from recog.data import ManifestError, read_manifest
from recog.decoding.ctc import prefix_beam_search
from recog.decoding.transducer import beam_search, greedy_search
from recog.heads.transducer import TransducerHead
from recog.image import ImageError, load_image
from recog.lm import CharNgramLM
from recog.text import CharTokenizer, build_tokenizer
from tests.helpers import cut_at, stream_through

pytestmark = pytest.mark.usefixtures("one_thread")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

HEADERS = [b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC\x00\x00\x00\x22", b"OggS\x00\x02", b"\x89PNG\r\n\x1a\n",
           b"\xff\xd8\xff\xe0", b"GIF89a", b"{\"audio_filepath\": \"a.wav\"", b"\x1f\x8b\x08"]


def written(data: bytes, suffix: str) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    return path


@SETTINGS
@given(header=st.sampled_from(HEADERS), body=st.binary(max_size=400))
def test_audio_loader_fails_only_with_audio_error_naming_the_file(header: bytes, body: bytes) -> None:
    path = written(header + body, ".wav")
    try:
        samples = load_audio(path)
    except AudioError as err:
        assert str(path) in str(err)
    else:
        assert samples.dtype == np.float32 and samples.ndim == 1 and len(samples) and np.isfinite(samples).all()


@SETTINGS
@given(header=st.sampled_from(HEADERS), body=st.binary(max_size=400))
def test_image_loader_fails_only_with_image_error_naming_the_file(header: bytes, body: bytes) -> None:
    path = written(header + body, ".png")
    try:
        image = load_image(path)
    except ImageError as err:
        assert str(path) in str(err)
    else:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


@SETTINGS
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_manifest_reader_fails_only_with_manifest_error_naming_the_manifest(body: bytes) -> None:
    path = written(body, ".jsonl")
    try:
        entries = read_manifest(path, check_files=False)
    except ManifestError as err:
        assert str(path) in str(err)
    else:
        assert entries and all(e.path and isinstance(e.text, str) for e in entries)


@SETTINGS
@given(header=st.sampled_from([b"", b"\x1f\x8b\x08\x00", b"{}", b"PK\x03\x04"]), body=st.binary(max_size=300))
def test_lm_loader_fails_only_with_a_clear_error_naming_the_file(header: bytes, body: bytes) -> None:
    path = written(header + body, ".npz")
    with pytest.raises(ValueError, match=str(path).replace(".", r"\.")):
        CharNgramLM.load(path)


@SETTINGS
@given(texts=st.lists(st.text(alphabet="abcdefg '.,é", min_size=1, max_size=30), min_size=1, max_size=8))
def test_character_tokenizer_round_trips_its_alphabet(texts: list[str]) -> None:
    tokenizer = CharTokenizer.from_texts(texts)
    for text in texts:  # all but the spaces at the ends, which a decoded text drops
        assert tokenizer.decode(tokenizer.encode(text)) == text.strip()


@settings(max_examples=15, deadline=None)
@given(texts=st.lists(st.text(alphabet="abcdefgh ", min_size=3, max_size=40).map(lambda t: " ".join(t.split())),
                      min_size=20, max_size=40))
def test_bpe_tokenizer_round_trips_the_texts_it_learnt(texts: list[str]) -> None:
    texts = [t for t in texts if t] or ["abc"]
    tokenizer = build_tokenizer("bpe", texts, vocab_size=24)
    for text in texts:
        assert tokenizer.decode(tokenizer.encode(text)) == text


def exhaustive_best(log_probs: np.ndarray) -> tuple[tuple[int, ...], float]:
    """The most probable CTC output over every alignment, by enumeration."""
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        collapsed = tuple(c for i, c in enumerate(path) if c != 0 and (i == 0 or path[i - 1] != c))
        score = float(sum(log_probs[t, c] for t, c in enumerate(path)))
        totals[collapsed] = float(np.logaddexp(totals.get(collapsed, -math.inf), score))
    best = max(totals, key=totals.__getitem__)
    return best, totals[best]


@SETTINGS
@given(st.integers(1, 4).flatmap(lambda t: st.lists(st.lists(st.floats(-4, 4), min_size=3, max_size=3),
                                                     min_size=t, max_size=t)))
def test_ctc_prefix_beam_search_is_exact_when_nothing_is_pruned(logits: list[list[float]]) -> None:
    log_probs = torch.log_softmax(torch.tensor(logits, dtype=torch.float64), dim=-1).numpy()
    best, score = exhaustive_best(log_probs)
    found = prefix_beam_search(log_probs, beam=64)
    assert found.score == pytest.approx(score, abs=1e-6)  # the most probable output's probability (ties allowed)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), frames=st.integers(1, 12))
def test_transducer_beam_search_of_width_one_is_greedy_search_of_one_symbol_per_frame(seed: int, frames: int) -> None:
    torch.manual_seed(seed)
    head = TransducerHead(8, 5, pred_dim=8, joint_dim=8).eval()
    h = torch.randn(1, frames, 8) * 3
    lengths = torch.tensor([frames])
    greedy = greedy_search(head, h, lengths, max_symbols=1)[0]
    beam = beam_search(head, h, lengths, beam=1)[0]
    assert beam.tokens == greedy.tokens and beam.timestamps == greedy.timestamps


@pytest.fixture(scope="module")
def streaming_model():  # noqa: ANN201
    from tests.helpers import tiny_recognizer

    return tiny_recognizer([8, 3])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 6000), min_size=1, max_size=12), rate=st.sampled_from([8000, 16000, 44100]))
def test_a_streams_text_does_not_depend_on_how_its_audio_is_cut(streaming_model, cuts: list[int],  # noqa: ANN001
                                                                  rate: int) -> None:
    from recog.streaming import EndpointConfig, StreamingRecognizer

    samples = (np.random.default_rng(0).standard_normal(rate) * 0.2).astype(np.float32)
    recognizer = StreamingRecognizer(streaming_model, endpoint=EndpointConfig(enabled=False))
    cut = stream_through(recognizer, cut_at(samples, cuts), rate)
    whole = stream_through(recognizer, [samples], rate)
    assert (cut.text, cut.timestamps) == (whole.text, whole.timestamps)
