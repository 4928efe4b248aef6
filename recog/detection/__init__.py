"""Text detection for whole-image OCR: the DB detector (``model``), its training targets
(``targets``), inference (``detector``), H-mean (``metrics``) and Lightning training
(``training``). What needs no torch -- boxes from probability maps and line crops, reading order,
the page flow -- lives in ``recog_edge`` (``boxes``, ``layout``, ``pages``), shared with the edge
runtime; ``recog.pages`` puts it together with a text-line recogniser."""
