// The microphone's samples, handed from the audio thread to the page in blocks of 128 frames
// (channel 0; getUserMedia asks for one channel).
class RecogCapture extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel && channel.length) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("recog-capture", RecogCapture);
