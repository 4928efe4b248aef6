"""Tokenizers: characters or SentencePiece BPE. Id 0 is always the CTC/transducer blank.

Every tokenizer round-trips through ``state()`` / ``tokenizer_from_state()`` so it can be stored
inside a checkpoint (plain types only, loadable with ``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import sentencepiece as spm

from recog_edge.fusion import SILENT_PIECES

BLANK, UNK = SILENT_PIECES  # ids 0 and 1 of every vocabulary; the edge runtime reads them without recog


class Tokenizer:
    """Text <-> token ids. Id 0 is blank and never produced by ``encode``."""

    blank_id = 0

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        raise NotImplementedError

    def id_to_piece(self, token_id: int) -> str:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError


class CharTokenizer(Tokenizer):
    """One token per character; vocabulary = blank, unk, then the given characters."""

    def __init__(self, chars: Iterable[str]) -> None:
        chars = [c for c in dict.fromkeys(chars) if c not in (BLANK, UNK)]
        self.pieces = [BLANK, UNK, *chars]
        self.index = {c: i for i, c in enumerate(self.pieces)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CharTokenizer:
        return cls(sorted({c for t in texts for c in t}))

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    def encode(self, text: str) -> list[int]:
        unk = self.index[UNK]
        return [self.index.get(c, unk) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text without blank and unknown, and without the spaces a model may put at the
        ends (as SentencePiece drops them)."""
        return "".join(self.pieces[i] for i in ids if i > 1).strip()

    def id_to_piece(self, token_id: int) -> str:
        return self.pieces[token_id]

    def state(self) -> dict[str, Any]:
        return {"kind": "char", "chars": self.pieces[2:]}


class BPETokenizer(Tokenizer):
    """SentencePiece BPE with SentencePiece's pad id 0 used as our blank."""

    def __init__(self, model_proto: bytes) -> None:
        self.model_proto = bytes(model_proto)
        self.sp = spm.SentencePieceProcessor(model_proto=self.model_proto)
        if self.sp.pad_id() != 0:
            raise ValueError("BPE model must have pad_id=0 (the blank); train it with BPETokenizer.train")

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int) -> BPETokenizer:
        """Train a BPE model on ``texts`` (deterministic for the same texts and size)."""
        buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(list(texts)), model_writer=buffer, vocab_size=vocab_size,
            model_type="bpe", character_coverage=1.0, pad_id=0, pad_piece=BLANK, unk_id=1,
            bos_id=-1, eos_id=-1, num_threads=1, minloglevel=2, hard_vocab_limit=False,
        )
        return cls(buffer.getvalue())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return list(self.sp.encode(text))

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.decode([i for i in ids if i != 0])

    def id_to_piece(self, token_id: int) -> str:
        return self.sp.id_to_piece(token_id)

    def state(self) -> dict[str, Any]:
        return {"kind": "bpe", "model_proto": self.model_proto}


def tokenizer_from_state(state: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from ``Tokenizer.state()``."""
    if state["kind"] == "char":
        return CharTokenizer(state["chars"])
    if state["kind"] == "bpe":
        return BPETokenizer(state["model_proto"])
    raise ValueError(f"unknown tokenizer kind {state['kind']!r}")


def build_tokenizer(kind: str, texts: Iterable[str], vocab_size: int = 256) -> Tokenizer:
    """Make a tokenizer of ``kind`` ('char' or 'bpe') from training texts."""
    if kind == "char":
        return CharTokenizer.from_texts(texts)
    if kind == "bpe":
        return BPETokenizer.train(texts, vocab_size)
    raise ValueError(f"unknown tokenizer kind {kind!r}; expected 'char' or 'bpe'")
