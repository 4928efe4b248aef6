"""``python -m recog_edge``: the ``recog-edge`` command (``recog_edge.cli``)."""

import sys

from recog_edge.cli import main

sys.exit(main())
