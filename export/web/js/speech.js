// Streaming speech recognition in the browser: a port of recog_edge/runtime.py (EdgeModel,
// EdgeStream) on onnxruntime-web. Log-mel frames as their windows complete, encoder chunks through
// encoder.onnx with its caches fed back, greedy CTC or greedy transducer search.
import { ChunkQueue, FeatureStream, LogMel } from "./features.js";
import { loadModel, ort } from "./onnx.js";

const SPACE = "\u2581"; // SentencePiece's word-boundary mark
const JOINER_WINDOW = 8; // encoder frames the joiner reads per call (recog_edge.search.TransducerGreedy)

/** Zeros of an exported state's shape with its batch axis set to 1. */
function zerosForOne(spec) {
  const dims = [...spec.shape];
  dims[spec.batch_axis] = 1;
  const size = dims.reduce((a, b) => a * b, 1);
  if (spec.dtype === "int64") return new ort.Tensor("int64", new BigInt64Array(size), dims);
  if (spec.dtype !== "float32") throw new Error(`unexpected state type ${spec.dtype}`);
  return new ort.Tensor("float32", new Float32Array(size), dims);
}

/** An exported streaming speech model (the folder `recog export --streaming` wrote, as a URL). */
export class SpeechModel {
  /** Load encoder.onnx (and predictor/joiner for a transducer) from `folder`; head: "ctc", "rnnt" or null (the model's). */
  static async load(folder, head = null) {
    const model = new SpeechModel();
    const { session, meta } = await loadModel(folder + "encoder.onnx");
    if (meta.chunk_features === undefined) throw new Error(`${folder}encoder.onnx: not a streaming speech export`);
    model.encoder = session;
    model.meta = meta;
    model.head = head || meta.default_head;
    if (!meta.heads.includes(model.head)) throw new Error(`${folder}: no ${model.head} head exported (it has ${meta.heads})`);
    if (model.head === "rnnt") {
      model.predictor = (await loadModel(folder + "predictor.onnx")).session;
      model.joiner = (await loadModel(folder + "joiner.onnx")).session;
    }
    model.vocabulary = meta.vocabulary;
    model.logmel = new LogMel(meta.features);
    model.sampleRate = Number(meta.sample_rate);
    model.chunkFeatures = Number(meta.chunk_features);
    return model;
  }

  detokenize(tokens) {
    const pieces = tokens.map((t) => this.vocabulary[t]).join("");
    return this.meta.tokenizer === "bpe" ? pieces.replaceAll(SPACE, " ").trim() : pieces;
  }

  createStream() {
    return new SpeechStream(this);
  }

  isReady(stream) {
    return stream.queue.ready(this.chunkFeatures);
  }

  /** Run every complete chunk of `stream` (all that is left once its input is finished). */
  async decode(stream) {
    while (this.isReady(stream)) await this.decodeStream(stream);
  }

  /** Run one chunk of `stream` if one is ready (sherpa-onnx's decode_stream). */
  async decodeStream(stream) {
    if (!this.isReady(stream)) return;
    const [chunk, n] = stream.queue.pop(this.chunkFeatures);
    const feeds = {
      chunk: new ort.Tensor("float32", chunk, [1, this.chunkFeatures, this.logmel.nMels]),
      chunk_lengths: new ort.Tensor("int64", BigInt64Array.from([BigInt(n)]), [1]),
      ...stream.cache,
    };
    const outputs = await this.encoder.run(feeds);
    for (const name of Object.keys(stream.cache)) stream.cache[name] = outputs["new_" + name];
    const frames = Number(outputs.encoded_lengths.data[0]);
    if (this.head === "ctc") this.ctc(stream, outputs.ctc_log_probs, frames);
    else await this.transducer(stream, outputs.encoded, frames);
    stream.frames += frames;
    stream.updateResult();
  }

  ctc(stream, logProbs, frames) {
    const vocab = logProbs.dims[2];
    const data = logProbs.data;
    for (let t = 0; t < frames; t++) {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (data[t * vocab + v] > data[t * vocab + best]) best = v;
      if (best !== 0 && best !== stream.lastId) {
        stream.tokens.push(best);
        stream.stamps.push(stream.frames + t);
      }
      stream.lastId = best;
    }
  }

  /** Greedy transducer search as recog_edge's TransducerGreedy: the joiner reads up to JOINER_WINDOW
   * frames per call with the same predictor output, up to the first frame that emits a token. */
  async transducer(stream, encoded, frames) {
    if (stream.pred === null) await this.predict(stream, 0);
    const dim = encoded.dims[2];
    let t = 0;
    let emitted = 0; // tokens emitted at frame t so far
    while (t < frames) {
      const rows = Math.min(JOINER_WINDOW, frames - t);
      const block = new ort.Tensor("float32", encoded.data.slice(t * dim, (t + rows) * dim), [rows, dim]);
      const joined = await this.joiner.run({ encoded: block, pred: stream.pred });
      const logProbs = joined[this.joiner.outputNames[0]].data;
      const vocab = logProbs.length / rows;
      let k = 0;
      let best = 0;
      for (; k < rows; k++) {
        best = 0;
        for (let v = 1; v < vocab; v++) if (logProbs[k * vocab + v] > logProbs[k * vocab + best]) best = v;
        if (best !== 0) break;
      }
      if (k > 0) {
        t += k;
        emitted = 0;
      }
      if (k === rows) continue;
      stream.tokens.push(best);
      stream.stamps.push(stream.frames + t);
      await this.predict(stream, best);
      emitted += 1;
      if (emitted >= this.meta.predictor.max_symbols) {
        t += 1;
        emitted = 0;
      }
    }
  }

  async predict(stream, token) {
    const feeds = { tokens: new ort.Tensor("int64", BigInt64Array.from([BigInt(token)]), [1]), ...stream.predState };
    const outputs = await this.predictor.run(feeds);
    const [pred, ...state] = this.predictor.outputNames.map((name) => outputs[name]);
    stream.pred = pred;
    Object.keys(stream.predState).forEach((name, i) => (stream.predState[name] = state[i]));
  }
}

/** One audio stream of a SpeechModel; `result` has the fields of recog's StreamResult. */
export class SpeechStream {
  constructor(model) {
    this.model = model;
    this.features = new FeatureStream(model.logmel);
    this.queue = new ChunkQueue(model.logmel.nMels);
    this.cache = Object.fromEntries(Object.entries(model.meta.cache).map(([name, spec]) => [name, zerosForOne(spec)]));
    const predictor = model.meta.predictor;
    this.predState = predictor ? Object.fromEntries(predictor.state.map((spec, i) => [`state_${i}`, zerosForOne(spec)])) : {};
    this.pred = null;
    this.tokens = [];
    this.stamps = [];
    this.lastId = 0;
    this.frames = 0;
    this.result = { text: "", stable_text: "", tokens: [], timestamps: [], segments: [] };
  }

  /** Append mono float samples (Float32Array in [-1, 1]) at the model's sample rate. */
  acceptWaveform(samples) {
    if (this.queue.finished) throw new Error("acceptWaveform after inputFinished");
    this.queue.push(this.features.accept(samples));
  }

  inputFinished() {
    if (!this.queue.finished) {
      this.queue.push(this.features.finish());
      this.queue.finished = true;
    }
  }

  updateResult() {
    const text = this.model.detokenize(this.tokens);
    this.result.text = this.result.stable_text = text;
    this.result.tokens = this.tokens.map((t) => this.model.vocabulary[t]);
    this.result.timestamps = this.stamps.map((t) => Math.round(t * this.model.meta.frame_seconds * 1000) / 1000);
  }
}
