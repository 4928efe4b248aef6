// Whole images in the browser: a port of recog_edge/pages.py (EdgeDetector, read_page, read_boxes):
// find boxes with det.onnx, read each line crop (long ones in pieces), turn upside-down lines, put
// them in reading order.
import { boxesFromMap, cropBox, detectionInput, f32, orderCorners, readingCorners, runsUpOrDown, turnHalf, unboxedShare } from "./boxes.js";
import { pageText, readingOrder, textFrame } from "./layout.js";
import { loadModel, ort, roundHalfEven } from "./onnx.js";
import { matRgb, rgbMat } from "./opencv.js";
import { cropColumns, inPieces, PIECE } from "./pieces.js";

const TURN_SAMPLE = 8; // lines of each direction read upside down too, to tell whether they all are
const TURN_WINDOW = 12; // ... each one's first this many heights of width only, both ways
const TURN_MARGIN = 0.04; // ... and they turn only if read surer turned by this much confidence on average
const UNBOXED_RETRY = 0.5; // as recog_edge.boxes: above this share of unboxed text, detect turned a quarter too

/** An exported text detector (det.onnx under `folder`, a URL). */
export class Detector {
  static async load(cv, folder) {
    const { session, meta } = await loadModel(folder + "det.onnx");
    if (meta.kind !== "detector") throw new Error(`${folder}det.onnx: not a text detector export (kind ${meta.kind})`);
    return Object.assign(new Detector(), { cv, session, meta });
  }

  /** An RGB image as a CV_8UC3 Mat -> [[corners, score], ...] in the image's pixels; where most of
   * the map's text is unboxed or most boxes run up or down, the image turned a quarter is detected too
   * and its boxes, turned back, kept if they leave less text unboxed (recog_edge.boxes.detect_page). */
  async detect(src) {
    const [upright, share] = await this.detectOnce(src);
    if (share > UNBOXED_RETRY || 2 * upright.filter(([box]) => runsUpOrDown(box)).length > upright.length) {
      const turnedSrc = new this.cv.Mat();
      try {
        this.cv.rotate(src, turnedSrc, this.cv.ROTATE_90_COUNTERCLOCKWISE); // as numpy's rot90
        const [turned, turnedShare] = await this.detectOnce(turnedSrc);
        if (turnedShare < share) { // (x', y') in the turned image is (W - 1 - y', x') in this one
          return turned.map(([box, score]) => [orderCorners(box.map(([x, y]) => [f32(src.cols - 1 - y), x])), score]);
        }
      } finally {
        turnedSrc.delete();
      }
    }
    return upright;
  }

  /** Boxes of `src` in its pixels, and the share of its map's text they leave unboxed. */
  async detectOnce(src) {
    const cv = this.cv;
    const [padded, h, w] = detectionInput(cv, src, this.meta);
    const input = new ort.Tensor("uint8", new Uint8Array(padded.data), [1, padded.rows, padded.cols, 3]);
    const W = padded.cols;
    padded.delete();
    const outputs = await this.session.run({ images: input });
    const full = outputs[this.session.outputNames[0]].data; // (1, 1, H, W)
    const prob = new Float32Array(h * w);
    for (let y = 0; y < h; y++) prob.set(full.subarray(y * W, y * W + w), y * w);
    const scale = [f32(src.cols / w), f32(src.rows / h)];
    const clip = (v, hi) => f32(Math.min(Math.max(v, 0), hi));
    const found = boxesFromMap(cv, prob, h, w, scale, this.meta.boxes)
      .map(([box, score]) => [box.map(([x, y]) => [clip(x, src.cols - 1), clip(y, src.rows - 1)]), score]);
    const inMap = found.map(([box]) => box.map(([x, y]) => [f32(x / scale[0]), f32(y / scale[1])]));
    return [found, unboxedShare(cv, prob, h, w, inMap, this.meta.boxes.thresh)];
  }
}

/** An RGB image {data, width, height} -> {width, height, text, lines: [{text, box, confidence, score}]}. */
export async function readPage(cv, image, detector, lineModel, turn = true, piece = PIECE) {
  const src = rgbMat(cv, image);
  try {
    const found = await detector.detect(src);
    const read = async (crops) => {
      const out = [];
      for (const crop of crops) {
        const line = await lineModel.read(matRgb(crop));
        out.push([line.text, line.confidence]);
      }
      return out;
    };
    let lines = await readBoxes(cv, src, found.map(([box]) => readingCorners(box)), found.map(([, s]) => s), read, turn,
      piece);
    lines = lines.filter((line) => line.text.trim());
    if (!lines.length) return { width: image.width, height: image.height, text: "", lines: [] };
    const upright = textFrame(lines.map((line) => line.box));
    const bounds = upright.map((c) => [Math.min(...c.map((p) => p[0])), Math.min(...c.map((p) => p[1])),
      Math.max(...c.map((p) => p[0])), Math.max(...c.map((p) => p[1]))]);
    const blocks = readingOrder(bounds);
    const order = blocks.flat(2);
    return { width: image.width, height: image.height, text: pageText(blocks, lines.map((l) => l.text)), lines: order.map((i) => lines[i]) };
  } finally {
    src.delete();
  }
}

/** Whether a group of lines whose longest read these confidence gains turned half a turn is upside
 * down: most read surer turned, by TURN_MARGIN on average (recog_edge.pages.turns). */
export function turns(gains) {
  const sum = gains.reduce((a, b) => a + b, 0); // left to right, as recog_edge.pages.turns adds
  return 2 * gains.filter((g) => g > 0).length > gains.length && sum >= TURN_MARGIN * gains.length;
}

/** Read the text in each box, those wider than `piece` heights in pieces (pieces.js); a group of lines
 * running the same way turns when most read surer turned, by TURN_MARGIN on average
 * (recog_edge.pages.read_boxes). */
async function readBoxes(cv, src, boxes, scores, read, turn, piece) {
  if (!boxes.length) return [];
  boxes = [...boxes];
  read = inPieces(cv, read, piece);
  const crops = boxes.map((box) => cropBox(cv, src, box));
  try {
    const results = await read(crops);
    const flipped = (mat) => {
      const out = new cv.Mat();
      cv.flip(mat, out, -1);
      return out;
    };
    const readFreeing = async (mats) => {
      try {
        return await read(mats);
      } finally {
        mats.forEach((m) => m.delete());
      }
    };
    const windowOf = (crop) => cropColumns(cv, crop, 0, Math.min(crop.cols, TURN_WINDOW * crop.rows)); // its first TURN_WINDOW heights
    if (turn) {
      for (const group of directionGroups(boxes).values()) {
        const length = (i) => Math.hypot(boxes[i][1][0] - boxes[i][0][0], boxes[i][1][1] - boxes[i][0][1]);
        const sample = group.map((i) => [i, length(i)]).sort((a, b) => b[1] - a[1]).slice(0, TURN_SAMPLE).map(([i]) => i);
        // the longer half first; where none of it reads surer turned, the rest is not read (turn_gains)
        const first = Math.floor((sample.length + 1) / 2), gains = [];
        for (const part of [sample.slice(0, first), sample.slice(first)]) {
          if (!part.length || (gains.length && Math.max(...gains) <= 0)) break;
          const windows = part.map((i) => windowOf(crops[i]));
          const both = await readFreeing([...windows, ...windows.map(flipped)]);
          part.forEach((_, k) => gains.push(both[part.length + k][1] - both[k][1]));
        }
        if (!turns(gains)) continue;
        (await readFreeing(group.map((i) => flipped(crops[i])))).forEach((r, k) => {
          [results[group[k]], boxes[group[k]]] = [r, turnHalf(boxes[group[k]])];
        });
      }
    }
    const round1 = (v) => roundHalfEven(v * 10) / 10;
    return results.map(([text, confidence], i) => ({
      text, confidence, box: boxes[i].map(([x, y]) => [round1(x), round1(y)]), score: Math.round(scores[i] * 1e4) / 1e4,
    }));
  } finally {
    crops.forEach((m) => m.delete());
  }
}

/** Box indices grouped by the quarter turn their text runs in (0: left to right), in first-seen order. */
function directionGroups(boxes) {
  const groups = new Map();
  boxes.forEach((box, i) => {
    const q = (((roundHalfEven(Math.atan2(box[1][1] - box[0][1], box[1][0] - box[0][0]) / (Math.PI / 2)) % 4) + 4) % 4);
    if (!groups.has(q)) groups.set(q, []);
    groups.get(q).push(i);
  });
  return groups;
}
