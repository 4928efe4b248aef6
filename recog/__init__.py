"""recog: sequence recognition for speech and text-line images.

    import recog
    model = recog.load("runs/synth_speech/checkpoints/last.ckpt")
    for result in model.transcribe(["a.wav"]):
        print(result.text, result.timestamps, result.confidence)
"""

from recog.inference import SpeechModel, Transcript, load

__all__ = ["SpeechModel", "Transcript", "load"]
__version__ = "0.1.0"
