"""Make the example inputs that `make demo` and the shipped-model tests read: short utterances in
several synthetic voices (WAV, FLAC, OGG), one recording of a few minutes, printed text lines
(PNG, JPG) and a small page (memo.png: a heading, a paragraph and a table). Deterministic; the
outputs are committed, this script says how they were made.

    python examples/make_examples.py          # needs espeak-ng, flite, sox and fonts-dejavu

The texts are not drawn from any recipe's corpus; the voices are flite's slt (held out of every
training set) and kal, and espeak-ng's Received Pronunciation English.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
RATE = 16000
UTTERANCES = [  # (file, synthesiser, voice, text)
    ("hello.wav", "flite", "slt", "hello and welcome to the recognition toolkit"),
    ("weather.flac", "espeak", "en-gb-x-rp", "the weather will be sunny with a light breeze"),
    ("meeting.ogg", "flite", "kal", "please call me back after the meeting"),
]
TALK = [  # sentences of the few-minute recording, read in turn by the three voices, twice
    "good morning everyone and thank you for coming",
    "today we will look at how speech becomes text",
    "a microphone turns the sound of a voice into numbers",
    "the model listens to short slices of that signal",
    "each slice becomes a small picture of its frequencies",
    "the encoder reads those pictures one after another",
    "it remembers what came before and guesses what was said",
    "a decoder then writes the words it believes it heard",
    "sometimes it hesitates between two similar words",
    "a language model helps it choose the likely one",
    "streaming models answer while the speaker is still talking",
    "offline models wait for the end and read everything at once",
    "both kinds are trained on many hours of examples",
    "the examples here were made by speech synthesisers",
    "real recordings bring noise echo and many accents",
    "that is why the training data is made so varied",
    "thank you for listening and have a good day",
]
LINES = [  # (file, text, size, ink, paper)
    ("invoice.png", "Invoice No. 2024-0117", 30, (20, 20, 20), (255, 255, 255)),
    ("price.png", "Total: $1,249.50 (incl. VAT)", 26, (30, 30, 120), (250, 248, 240)),
    ("email.jpg", "Contact: support@example.org", 24, (10, 10, 10), (235, 235, 235)),
    ("sentence.jpg", "The quick brown fox jumps over the lazy dog.", 28, (240, 240, 240), (40, 60, 90)),
]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def synthesise(synthesiser: str, voice: str, text: str) -> np.ndarray:
    """16 kHz mono float32 samples of ``text``."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        if synthesiser == "flite":
            subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(raw)], check=True)
        else:
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True)
        subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True)
        samples, _ = sf.read(out, dtype="float32")
    return samples


def write_audio(path: Path, samples: np.ndarray) -> None:
    if path.suffix != ".ogg":
        sf.write(path, samples, RATE, subtype="PCM_16")
        return
    with tempfile.TemporaryDirectory() as tmp:  # sox encodes Vorbis (libsndfile's encoder crashed on minutes)
        wav = Path(tmp) / "x.wav"
        sf.write(wav, samples, RATE, subtype="PCM_16")
        subprocess.run(["sox", str(wav), "-C", "3", str(path)], check=True)


PAGE = [  # memo.png: (x, y, text, bold, size); rows of a table are cells of their own
    (60, 50, "Quarterly Report", True, 34),
    (60, 120, "Sales grew in every region this quarter,", False, 20),
    (60, 148, "led by new customers in the north.", False, 20),
    (60, 220, "Region", True, 20), (300, 220, "Q1", True, 20), (460, 220, "Q2", True, 20),
    (60, 252, "North", False, 20), (300, 252, "1,204", False, 20), (460, 252, "1,530", False, 20),
    (60, 284, "South", False, 20), (300, 284, "980", False, 20), (460, 284, "1,112", False, 20),
]
PAGE_TEXT = ("Quarterly Report\n\nSales grew in every region this quarter,\nled by new customers in the north.\n\n"
             "Region Q1 Q2\nNorth 1,204 1,530\nSouth 980 1,112")


def make_page() -> dict:
    """memo.png, a small page for whole-image OCR, and its row: boxes from the first to the last
    ink and from the ascender to the descender line, as recipes/synth_pages draws them."""
    image = Image.new("RGB", (720, 360), "white")
    draw = ImageDraw.Draw(image)
    lines = []
    for x, y, text, bold, size in PAGE:
        font = ImageFont.truetype(FONT.replace("Sans.ttf", "Sans-Bold.ttf") if bold else FONT, size)
        draw.text((x, y), text, font=font, fill=(20, 20, 20))
        left, _, right, _ = draw.textbbox((x, y), text, font=font)
        ascent, descent = font.getmetrics()
        lines.append({"text": text, "points": [[left, y], [right, y], [right, y + ascent + descent],
                                               [left, y + ascent + descent]]})
    image.save(HERE / "memo.png")
    return {"image_filepath": "memo.png", "text": PAGE_TEXT, "lines": lines}


def main() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for name, synthesiser, voice, text in UTTERANCES:
        write_audio(HERE / name, synthesise(synthesiser, voice, text))
        rows.append({"audio_filepath": name, "text": text, "voice": f"{synthesiser}:{voice}"})
    voices = [(s, v) for _, s, v, _ in UTTERANCES]
    pieces = []
    talk_texts = TALK + TALK  # read twice, the second time each sentence by the next voice
    for i, text in enumerate(talk_texts):
        voice = voices[(i + i // len(TALK)) % len(voices)]
        pieces += [synthesise(*voice, text), np.zeros(int(RATE * rng.uniform(0.4, 1.2)), np.float32)]
    talk = np.concatenate(pieces)
    write_audio(HERE / "talk.ogg", talk)
    rows.append({"audio_filepath": "talk.ogg", "text": " ".join(talk_texts), "voice": "mixed"})
    for name, text, size, ink, paper in LINES:
        font = ImageFont.truetype(FONT, size)
        left, top, right, bottom = font.getbbox(text)
        image = Image.new("RGB", (right - left + 16, bottom - top + 12), paper)
        ImageDraw.Draw(image).text((8 - left, 6 - top), text, font=font, fill=ink)
        image.save(HERE / name, quality=90) if name.endswith(".jpg") else image.save(HERE / name)
        rows.append({"image_filepath": name, "text": text})
    speech = [r for r in rows if "audio_filepath" in r]
    for r in speech:
        r["duration"] = round(sf.info(HERE / r["audio_filepath"]).duration, 3)
    (HERE / "speech.jsonl").write_text("".join(json.dumps(r) + "\n" for r in speech))
    (HERE / "lines.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows if "image_filepath" in r))
    (HERE / "pages.jsonl").write_text(json.dumps(make_page()) + "\n")
    print(f"talk.ogg: {len(talk) / RATE:.0f} s; wrote {len(rows) + 1} examples to {HERE}")


if __name__ == "__main__":
    main()
