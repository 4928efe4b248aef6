"""recog.text: character and BPE tokenizers; id 0 is the blank; state survives checkpoints."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
import torch

from recog.text import BLANK, UNK, BPETokenizer, CharTokenizer, Tokenizer, build_tokenizer, tokenizer_from_state

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "pack", "my", "box", "with", "five",
         "dozen", "liquor", "jugs", "sphinx", "of", "black", "quartz", "judge", "vow", "waltz", "nymph", "zebra"]
SEEN = ["the quick brown fox", "pack my box with five dozen liquor jugs", "a lazy dog"]
UNSEEN = ["jumps over the sphinx of quartz", "zebra waltz", "vexed nymphs box quickly", "xyzzy quiz"]


def sentences(n: int = 300, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))) for _ in range(n)]


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.train(sentences() + SEEN, vocab_size=64)


@pytest.fixture(scope="module")
def char() -> CharTokenizer:
    return CharTokenizer.from_texts(sentences() + SEEN)


def test_training_texts_cover_the_alphabet() -> None:
    """Guard for the tests below: 'unseen' texts use only characters the tokenizers saw."""
    assert set("".join(sentences())) == set(string.ascii_lowercase) | {" "}


@pytest.mark.parametrize("text", SEEN + UNSEEN)
def test_char_tokenizer_round_trips_text_made_of_known_characters(char: CharTokenizer, text: str) -> None:
    ids = char.encode(text)
    assert len(ids) == len(text)
    assert char.decode(ids) == text


@pytest.mark.parametrize("text", SEEN + UNSEEN)
def test_bpe_tokenizer_round_trips_seen_and_unseen_text(bpe: BPETokenizer, text: str) -> None:
    ids = bpe.encode(text)
    assert ids
    assert bpe.decode(ids) == text


def test_bpe_vocabulary_has_the_requested_size_and_merges_beyond_characters(bpe: BPETokenizer) -> None:
    assert bpe.vocab_size == 64
    assert bpe.id_to_piece(0) == BLANK
    assert bpe.id_to_piece(1) == UNK
    text = "pack my box with five dozen liquor jugs"
    assert len(bpe.encode(text)) < len(text)  # merges: fewer tokens than characters


def test_bpe_covers_every_character_it_was_trained_on(bpe: BPETokenizer) -> None:
    for c in string.ascii_lowercase:
        assert 1 not in bpe.encode(c), f"{c!r} became <unk>"
        assert bpe.decode(bpe.encode(c)) == c


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_encode_never_produces_the_blank_id(kind: str, char: CharTokenizer, bpe: BPETokenizer) -> None:
    tokenizer: Tokenizer = {"char": char, "bpe": bpe}[kind]
    assert tokenizer.blank_id == 0
    for text in SEEN + UNSEEN + sentences(50, seed=7) + ["ÄÖÜ ñ 漢字 !?", " ", "a  b"]:
        assert 0 not in tokenizer.encode(text), text


def test_char_tokenizer_maps_unknown_characters_to_unk(char: CharTokenizer) -> None:
    ids = char.encode("a!b漢")
    assert [char.id_to_piece(i) for i in ids] == ["a", UNK, "b", UNK]
    assert ids[1] == ids[3] == 1


def test_char_vocabulary_is_blank_unk_then_the_characters(char: CharTokenizer) -> None:
    assert char.vocab_size == 2 + 27
    assert [char.id_to_piece(i) for i in range(3)] == [BLANK, UNK, " "]
    assert sorted(char.id_to_piece(i) for i in range(2, char.vocab_size)) == sorted(string.ascii_lowercase + " ")


def test_bpe_maps_unknown_characters_to_unk(bpe: BPETokenizer) -> None:
    assert 1 in bpe.encode("a漢b")


def test_bpe_training_is_deterministic() -> None:
    texts = sentences(200, seed=3)
    first, second = BPETokenizer.train(texts, 64), BPETokenizer.train(texts, 64)
    assert first.state() == second.state()


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_state_rebuilds_a_tokenizer_with_identical_encodings(kind: str, char: CharTokenizer,
                                                             bpe: BPETokenizer) -> None:
    tokenizer: Tokenizer = {"char": char, "bpe": bpe}[kind]
    rebuilt = tokenizer_from_state(tokenizer.state())
    assert type(rebuilt) is type(tokenizer)
    assert rebuilt.vocab_size == tokenizer.vocab_size
    for text in SEEN + UNSEEN + ["ÄÖÜ ñ"]:
        assert rebuilt.encode(text) == tokenizer.encode(text)
    assert [rebuilt.id_to_piece(i) for i in range(rebuilt.vocab_size)] == \
        [tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size)]


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_state_survives_a_weights_only_checkpoint(kind: str, char: CharTokenizer, bpe: BPETokenizer,
                                                  tmp_path: Path) -> None:
    tokenizer: Tokenizer = {"char": char, "bpe": bpe}[kind]
    path = tmp_path / "checkpoint.pt"
    torch.save({"recog": {"tokenizer": tokenizer.state()}}, path)

    state = torch.load(path, weights_only=True)["recog"]["tokenizer"]
    rebuilt = tokenizer_from_state(state)

    for text in SEEN + UNSEEN:
        assert rebuilt.encode(text) == tokenizer.encode(text)
        assert rebuilt.decode(rebuilt.encode(text)) == text


def test_unknown_tokenizer_kinds_are_rejected() -> None:
    with pytest.raises(ValueError, match="wordpiece"):
        tokenizer_from_state({"kind": "wordpiece"})
    with pytest.raises(ValueError, match="wordpiece"):
        build_tokenizer("wordpiece", ["abc"])


def test_build_tokenizer_makes_the_named_kind() -> None:
    texts = sentences(200)
    assert isinstance(build_tokenizer("char", texts), CharTokenizer)
    bpe = build_tokenizer("bpe", texts, vocab_size=48)
    assert isinstance(bpe, BPETokenizer) and bpe.vocab_size == 48


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_decoded_text_has_no_spaces_at_its_ends(kind: str, char: CharTokenizer, bpe: BPETokenizer) -> None:
    """A model may emit a space first or last (en-speech 3 ended "hello world" with one)."""
    tokenizer = char if kind == "char" else bpe
    space = tokenizer.encode(" ")
    assert tokenizer.decode(space + tokenizer.encode("the cat") + space + space) == "the cat"
