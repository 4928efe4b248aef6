"""The character n-gram language model (interpolated Kneser-Ney) that beam searches fuse: one
implementation, in ``recog_edge.lm`` (numpy only), so the torch-free runtime fuses the same
models; imported here under recog's name."""

from recog_edge.lm import BOS, EOS, FORBIDDEN, FORMAT, FORMAT_V1, CharNgramLM, read_lexicon, read_texts

__all__ = ["BOS", "EOS", "FORBIDDEN", "FORMAT", "FORMAT_V1", "CharNgramLM", "read_lexicon", "read_texts"]
