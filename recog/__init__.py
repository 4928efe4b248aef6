"""recog: sequence recognition for speech and text-line images.

    import recog
    model = recog.load("runs/synth_speech_ctc/checkpoints/last.ckpt")
    for result in model.transcribe(["a.wav"]):
        print(result.text, result.positions, result.confidence)  # positions: token start times (s)

A text-line model reads images the same way: ``recog.load(ocr_ckpt).transcribe(["line.png"])``.
"""

from recog.inference import Recognition, RecognitionModel, load

__all__ = ["Recognition", "RecognitionModel", "load"]
__version__ = "0.1.0"
