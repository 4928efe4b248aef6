"""recog.memory: freed memory kept for the next allocation (glibc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Ten 40 MB allocations after a first one, counting the page faults they cause.
PROGRAM = """
import resource, sys
import numpy as np
from recog.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
a = np.ones(5 << 20); del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    a = np.ones(5 << 20); del a
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    return int(subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True,
                              check=True).stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_kept_memory_is_reused_without_faulting_its_pages_in_again() -> None:
    default, kept = page_faults("default"), page_faults("keep")
    assert default >= 10  # every allocation faults its pages in (20 with 2 MB huge pages, 10240 without)
    assert kept < default / 10
