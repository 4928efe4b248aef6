"""The one result type every head's search returns: ``recog_edge.hypothesis`` (numpy-free and
torch-free, so the edge runtime's searches return it too), imported here under recog's name."""

from recog_edge.hypothesis import Hypothesis, rank

__all__ = ["Hypothesis", "rank"]
