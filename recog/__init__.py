"""recog: sequence recognition for speech and text-line images.

    import recog
    model = recog.load("runs/synth_speech_ctc/checkpoints/last.ckpt")
    for result in model.transcribe(["a.wav"]):
        print(result.text, result.timestamps, result.confidence)

A text-line model reads images the same way: ``recog.load(ocr_ckpt).transcribe(["line.png"])``.
"""

from recog.inference import LineReading, RecognitionModel, Transcript, load

__all__ = ["LineReading", "RecognitionModel", "Transcript", "load"]
__version__ = "0.1.0"
