"""Every search, behind one interface: a head's ``decode(h, h_lengths, options, fusion)`` runs
the searches of ``recog.decoding.ctc``, ``transducer`` or ``attention``; ``rescoring`` combines
two heads; ``fusion`` and ``internal_lm`` add a language model's score to beam searches.
``DecodingOptions`` (``options``) is checked once where it is made."""

from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import SEARCHES, DecodingOptions

__all__ = ["SEARCHES", "DecodingOptions", "Hypothesis"]
