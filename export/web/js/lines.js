// Reading text lines in the browser: a port of recog_edge/lines.py (SVTRv2's multi-size resizing
// and EdgeLineModel) on onnxruntime-web, resizing with opencv.js as recog_edge does with cv2.
import { loadModel, ort, roundHalfEven } from "./onnx.js";
import { matRgb, rgbMat } from "./opencv.js";

const SIZES = { 1: [64, 64], 2: [96, 48], 3: [112, 40], 4: [128, 32] }; // aspect ratio -> [W, H]

/** [W, H] an image of this size is resized to (recog_edge.lines.target_size). */
export function targetSize(width, height, lineHeight = 32, maxWidth = 4096, widthScale = 1) {
  const ratio = Math.max(1, roundHalfEven(width / height));
  if (SIZES[ratio]) return SIZES[ratio];
  return [Math.min(lineHeight * Math.max(1, roundHalfEven((width * widthScale) / height)), maxWidth), lineHeight];
}

/** An exported text-line model (lines.onnx under `folder`, a URL). */
export class LineModel {
  constructor(cv, session, meta, head, decoder = null) {
    [this.cv, this.session, this.meta, this.decoder] = [cv, session, meta, decoder];
    this.head = head || meta.default_head;
    if (!meta.heads.includes(this.head)) throw new Error(`no ${this.head} head exported (it has ${meta.heads})`);
    this.vocabulary = meta.vocabulary;
  }

  static async load(cv, folder, head = null) {
    const { session, meta } = await loadModel(folder + "lines.onnx");
    if (meta.kind !== "lines") throw new Error(`${folder}lines.onnx: not a text-line export (kind ${meta.kind})`);
    // CPPD decodes the encoder frames in a graph of its own (parallel.onnx); format 1 had it inside lines.onnx
    let decoder = null;
    if ((head || meta.default_head) === "parallel") {
      if (!(Number(meta.format) >= 2))
        throw new Error(`${folder}lines.onnx: export format ${meta.format} (CPPD inside lines.onnx), which this page ` +
          "reads with the ctc head only; export the model again with `recog export` to read with the parallel head");
      const parallel = await loadModel(folder + "parallel.onnx");
      if (JSON.stringify(parallel.meta.vocabulary) !== JSON.stringify(meta.vocabulary))
        throw new Error(`${folder}parallel.onnx: exported with another vocabulary than lines.onnx`);
      decoder = parallel.session;
    }
    return new LineModel(cv, session, meta, head, decoder);
  }

  /** An RGB image {data, width, height} -> {text, tokens, x_positions, confidence}, as EdgeLineModel.read. */
  async read(image) {
    const cv = this.cv;
    const { height, max_width, width_scale } = this.meta.image;
    const [w, h] = targetSize(image.width, image.height, height, max_width, width_scale ?? 1);
    const src = rgbMat(cv, image), dst = new cv.Mat();
    cv.resize(src, dst, new cv.Size(w, h), 0, 0, h < image.height ? cv.INTER_AREA : cv.INTER_CUBIC);
    const resized = matRgb(dst);
    src.delete();
    dst.delete();
    const outputs = await this.session.run({
      images: new ort.Tensor("uint8", resized.data, [1, h, w, 3]),
      widths: new ort.Tensor("int64", BigInt64Array.from([BigInt(w)]), [1]),
    });
    const scale = image.width / w;
    let tokens = [], stamps = [], lp = [], count;
    if (this.head === "parallel") {
      const decoded = await this.decoder.run({ encoded: outputs.encoded, encoded_lengths: outputs.lengths });
      const logProbs = decoded.log_probs, frames = decoded.frames.data;
      const best = argmaxRows(logProbs, logProbs.dims[1]);
      const end = best.indexOf(0);
      const n = end >= 0 ? end : best.length - 1;
      tokens = best.slice(0, n);
      stamps = Array.from(frames.slice(0, n), Number);
      const vocab = logProbs.dims[2];
      lp = best.slice(0, end >= 0 ? n + 1 : n).map((c, i) => logProbs.data[i * vocab + c]);
      count = lp.length;
    } else {
      const logProbs = outputs[`${this.head}_log_probs`], vocab = logProbs.dims[2];
      const best = argmaxRows(logProbs, Number(outputs.lengths.data[0]));
      best.forEach((c, t) => {
        if (c !== 0 && (t === 0 || best[t - 1] !== c)) {
          tokens.push(c);
          stamps.push(t);
        }
      });
      lp = best.map((c, t) => logProbs.data[t * vocab + c]);
      count = best.length;
    }
    const stride = this.meta.stride;
    const mean = lp.reduce((a, b) => a + b, 0) / Math.max(count, 1);
    return {
      text: tokens.filter((t) => t > 1).map((t) => this.vocabulary[t]).join("").trim(), // spaces at the ends dropped, as recog_edge.search.char_text does
      tokens: tokens.map((t) => this.vocabulary[t]),
      x_positions: stamps.map((t) => roundHalfEven((t + 0.5) * stride * scale)),
      confidence: Math.round(Math.exp(mean) * 1e4) / 1e4,
    };
  }
}

/** The best class of each of the first `rows` rows of a (1, T, V) tensor. */
function argmaxRows(tensor, rows) {
  const vocab = tensor.dims[2], data = tensor.data, best = [];
  for (let t = 0; t < rows; t++) {
    let b = 0;
    for (let v = 1; v < vocab; v++) if (data[t * vocab + v] > data[t * vocab + b]) b = v;
    best.push(b);
  }
  return best;
}
