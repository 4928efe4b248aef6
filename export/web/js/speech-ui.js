// The speech panel: stream the microphone (or a recording, fed the same way) through a SpeechModel,
// showing partial text as it changes and the final text when the input ends.
import { SpeechModel } from "./speech.js";
import { $, showError } from "./ui.js";

const PIECE_MS = 100; // audio handed to the stream per step, as `recog stream --chunk-ms`

/** Feed `stream` and decode every ready chunk, showing the partial text. */
async function feed(model, stream, samples) {
  stream.acceptWaveform(samples);
  while (model.isReady(stream)) await model.decodeStream(stream);
  $("partial").textContent = stream.result.text;
}

/** End `stream`: decode the rest and show the final text. */
async function finish(model, stream) {
  stream.inputFinished();
  await model.decode(stream);
  $("partial").textContent = stream.result.text;
  $("final").textContent = stream.result.text;
}

/** A recording (any format the browser decodes) as mono samples at `rate`; channels averaged. */
async function decodeRecording(file, rate) {
  const context = new OfflineAudioContext(1, 1, rate); // decodeAudioData resamples to the context's rate
  let audio;
  try {
    audio = await context.decodeAudioData(await file.arrayBuffer());
  } catch (err) {
    throw new Error(`${file.name}: not a readable audio file (${err.message || err})`);
  }
  const mono = new Float32Array(audio.length);
  for (let c = 0; c < audio.numberOfChannels; c++) {
    const data = audio.getChannelData(c);
    for (let i = 0; i < mono.length; i++) mono[i] += data[i] / audio.numberOfChannels;
  }
  if (!mono.length) throw new Error(`${file.name}: no audio in it`);
  return mono;
}

/** Stream a recording through the model as fast as it decodes; reports the real-time factor. */
async function streamFile(model, file) {
  const samples = await decodeRecording(file, model.sampleRate);
  $("final").textContent = "";
  $("speech").dataset.state = "running";
  const stream = model.createStream();
  const piece = (model.sampleRate * PIECE_MS) / 1000;
  const start = performance.now();
  for (let i = 0; i < samples.length; i += piece) await feed(model, stream, samples.subarray(i, i + piece));
  await finish(model, stream);
  const seconds = (performance.now() - start) / 1000, duration = samples.length / model.sampleRate;
  $("speech-stats").textContent = `${file.name}: ${duration.toFixed(2)} s of audio decoded in ${seconds.toFixed(2)} s, ` +
    `real-time factor ${(seconds / duration).toFixed(3)}`;
  $("speech").dataset.rtf = String(seconds / duration);
  $("speech").dataset.state = "done";
}

/** The live microphone: an AudioContext at the model's rate, samples posted by an AudioWorklet. */
class Microphone {
  constructor(model) {
    this.model = model;
  }

  async start() {
    let media;
    try {
      media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (err) {
      const why = err.name === "NotAllowedError" ? "permission to use the microphone was refused" : err.message;
      throw new Error(`The microphone could not be opened: ${why} (${err.name}). A recording can be streamed instead.`);
    }
    this.media = media;
    this.context = new AudioContext({ sampleRate: this.model.sampleRate });
    await this.context.audioWorklet.addModule(new URL("./capture-worklet.js", import.meta.url));
    this.node = new AudioWorkletNode(this.context, "recog-capture");
    this.stream = this.model.createStream();
    this.samples = 0;
    this.work = Promise.resolve();
    this.node.port.onmessage = (event) => {
      this.samples += event.data.length;
      this.work = this.work.then(() => feed(this.model, this.stream, event.data)).catch((err) => this.fail(err));
    };
    this.context.createMediaStreamSource(media).connect(this.node);
    $("final").textContent = "";
    $("speech").dataset.state = "listening";
  }

  async stop() {
    this.media.getTracks().forEach((track) => track.stop());
    this.node.port.onmessage = null;
    await this.context.close();
    await this.work;
    await finish(this.model, this.stream);
    $("speech-stats").textContent = `microphone: ${(this.samples / this.model.sampleRate).toFixed(2)} s of audio`;
    $("speech").dataset.micSeconds = String(this.samples / this.model.sampleRate);
    $("speech").dataset.state = "done";
  }

  fail(err) {
    showError(`Speech recognition stopped: ${err.message || err}`);
    $("speech").dataset.state = "failed";
  }
}

/** Load the speech model from `url` and wire up the panel; a failure is shown, not thrown. */
export async function setupSpeech(url, head) {
  let model;
  try {
    model = await SpeechModel.load(url, head);
  } catch (err) {
    $("speech-status").textContent = "no speech model";
    showError(`The speech model could not be loaded: ${err.message}`);
    return;
  }
  const latency = Math.round(model.chunkFeatures * model.meta.features.hop_ms);
  $("speech-status").textContent = `${url}: ${model.head} head, ${latency} ms chunks, ${model.vocabulary.length} tokens`;
  let mic = null;
  const busy = (on) => {
    $("mic-start").disabled = on;
    $("audio-file").disabled = on;
    $("mic-stop").disabled = !on || mic === null;
  };
  $("mic-start").onclick = async () => {
    busy(true);
    try {
      mic = new Microphone(model);
      await mic.start();
      busy(true);
    } catch (err) {
      mic = null;
      showError(err.message);
      $("speech").dataset.state = "failed";
      busy(false);
    }
  };
  $("mic-stop").onclick = async () => {
    try {
      await mic.stop();
    } catch (err) {
      showError(`Speech recognition stopped: ${err.message}`);
    }
    mic = null;
    busy(false);
  };
  $("audio-file").onchange = async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    busy(true);
    try {
      await streamFile(model, file);
    } catch (err) {
      showError(err.message);
      $("speech").dataset.state = "failed";
    }
    busy(false);
  };
  busy(false);
  $("speech").dataset.state = "ready";
}
