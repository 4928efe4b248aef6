"""What reading line images with Pillow (``recog_edge.image_file.load_image``, both runtimes' reader
since session 57) costs against OpenCV's ``cv2.imread`` (recog-edge's reader before it), side by side
on the same files, one thread, interleaved rounds; the pixels of the two are compared too.

    python benchmarks/image_loading.py --manifest data/synth_ocr_v2/test.jsonl --files 500 --repeats 5

Prints milliseconds per image for each reader (the fastest round), Pillow's time as a multiple of
OpenCV's, and how many images decode to the same pixels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import add_limit, add_manifest, best_time, parse_args, read_entries, set_threads  # noqa: E402
from recog_edge.image_file import load_image  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_manifest(parser, help="a manifest of image files (image_filepath)")
    add_limit(parser, default=500)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds; each reader's fastest counts")
    args = parse_args(parser)
    import cv2

    set_threads(1)
    cv2.setNumThreads(1)
    paths = [entry.path for entry in read_entries(args.manifest, args.files)]

    def opencv() -> list[np.ndarray]:
        return [cv2.cvtColor(cv2.imread(p, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for p in paths]

    def pillow() -> list[np.ndarray]:
        return [load_image(p) for p in paths]

    readers = {"OpenCV imread": opencv, "Pillow load_image": pillow}
    seconds = dict.fromkeys(readers, float("inf"))
    for _ in range(args.repeats):  # interleaved, so a busy spell of the machine hits both alike
        for name, read in readers.items():
            seconds[name] = min(seconds[name], best_time(read, 1))
    same = sum(np.array_equal(a, b) for a, b in zip(opencv(), pillow(), strict=True))
    print(f"{len(paths)} images of {args.manifest}, one thread, fastest of {args.repeats} interleaved rounds")
    for name, s in seconds.items():
        print(f"{name:<20} {1000 * s / len(paths):7.3f} ms/image")
    print(f"Pillow / OpenCV: {seconds['Pillow load_image'] / seconds['OpenCV imread']:.2f}x; "
          f"same pixels: {same}/{len(paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
