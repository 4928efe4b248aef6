"""Text detection for whole-image OCR: the DB detector (``model``), its training targets
(``targets``), box extraction and line crops (``boxes``), inference (``detector``) and reading
order (``layout``). ``recog.pages`` puts them together with a text-line recogniser."""
