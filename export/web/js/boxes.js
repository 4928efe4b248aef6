// Text boxes in the browser: a port of recog_edge/boxes.py (PP-OCR's DBPostProcess: threshold,
// contours, minimum-area rectangles, unclip with Clipper; the detection size; line crops) with
// opencv.js and clipper-lib (the JS port of the Clipper that pyclipper wraps). A box is 4 corners
// [[x, y] x 4], top-left first, clockwise; numbers are float32 values, as in numpy.
import { roundHalfEven } from "./onnx.js";

export const f32 = Math.fround;
export const STRIDE = 32;
const CROP_MARGIN = 0.2; // of a box's height, above and below a line crop (recog_edge.boxes)
const CROP_ENDS = 0.35; // of a box's height, before and after a line crop

const dist = (a, b) => f32(Math.hypot(f32(a[0] - b[0]), f32(a[1] - b[1])));

function polygonArea(poly) {
  let sxy = 0, syx = 0;
  poly.forEach((p, i) => {
    const q = poly[(i + 1) % poly.length];
    sxy += p[0] * q[1];
    syx += p[1] * q[0];
  });
  return Math.abs(f32(sxy) - f32(syx)) / 2;
}

function polygonPerimeter(poly) {
  return f32(poly.reduce((sum, p, i) => sum + dist(p, poly[(i + 1) % poly.length]), 0));
}

/** `poly` grown by `distance` pixels with rounded joins (Clipper): zero, one or more polygons. */
function offsetPolygon(poly, distance) {
  const offset = new ClipperLib.ClipperOffset(2.0, 0.25);
  offset.AddPath(poly.map(([x, y]) => ({ X: roundHalfEven(x), Y: roundHalfEven(y) })),
    ClipperLib.JoinType.jtRound, ClipperLib.EndType.etClosedPolygon);
  const solution = new ClipperLib.Paths();
  offset.Execute(solution, distance);
  return solution.map((path) => path.map((p) => [p.X, p.Y]));
}

/** 4 corners in any order -> top-left, top-right, bottom-right, bottom-left (stable sorts, as numpy's). */
export function orderCorners(points) {
  const byX = [...points].sort((a, b) => a[0] - b[0]);
  const [tl, bl] = byX.slice(0, 2).sort((a, b) => a[1] - b[1]);
  const [tr, br] = byX.slice(2).sort((a, b) => a[1] - b[1]);
  return [tl, tr, br, bl];
}

/** The minimum-area rectangle around points [[x, y], ...] (corners ordered) and its short side. */
function minAreaBox(cv, points) {
  const mat = cv.matFromArray(points.length, 1, cv.CV_32FC2, points.flat());
  const rect = cv.minAreaRect(mat);
  mat.delete();
  const corners = cv.RotatedRect.points(rect).map((p) => [f32(p.x), f32(p.y)]);
  return [orderCorners(corners), Math.min(rect.size.width, rect.size.height)];
}

/** Mean of the probability map (a CV_32F Mat) inside the polygon `box`. */
function meanScore(cv, prob, box) {
  const [h, w] = [prob.rows, prob.cols];
  const clip = (v, hi) => Math.min(Math.max(v, 0), hi);
  const x0 = clip(Math.floor(Math.min(...box.map((p) => p[0]))), w - 1), y0 = clip(Math.floor(Math.min(...box.map((p) => p[1]))), h - 1);
  const x1 = clip(Math.ceil(Math.max(...box.map((p) => p[0]))), w - 1), y1 = clip(Math.ceil(Math.max(...box.map((p) => p[1]))), h - 1);
  const mask = cv.Mat.zeros(y1 - y0 + 1, x1 - x0 + 1, cv.CV_8UC1);
  const poly = cv.matFromArray(4, 1, cv.CV_32SC2, box.flatMap(([x, y]) => [roundHalfEven(x - x0), roundHalfEven(y - y0)]));
  const polys = new cv.MatVector();
  polys.push_back(poly);
  cv.fillPoly(mask, polys, new cv.Scalar(1));
  const roi = prob.roi(new cv.Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1));
  const score = cv.mean(roi, mask)[0];
  [mask, poly, polys, roi].forEach((m) => m.delete());
  return score;
}

/** Text boxes in a probability map (Float32Array, h x w): [[corners, score], ...], corners scaled by
 * `scale` [sx, sy] to the original image's pixels (recog_edge.boxes.boxes_from_map). */
export function boxesFromMap(cv, probData, h, w, scale, options) {
  const prob = cv.matFromArray(h, w, cv.CV_32FC1, probData);
  const bitmap = new cv.Mat(h, w, cv.CV_8UC1);
  for (let i = 0; i < probData.length; i++) bitmap.data[i] = probData[i] > options.thresh ? 1 : 0;
  const contours = new cv.MatVector(), hierarchy = new cv.Mat();
  cv.findContours(bitmap, contours, hierarchy, cv.RETR_LIST, cv.CHAIN_APPROX_SIMPLE);
  const list = [];
  for (let i = 0; i < contours.size(); i++) {
    const c = contours.get(i);
    list.push({ area: cv.contourArea(c), points: Array.from({ length: c.rows }, (_, k) => [c.data32S[2 * k], c.data32S[2 * k + 1]]) });
    c.delete();
  }
  list.sort((a, b) => b.area - a.area);
  const found = [];
  for (const { points } of list.slice(0, options.max_candidates)) {
    let [box, shortSide] = minAreaBox(cv, points);
    if (shortSide < options.min_size) continue;
    const score = meanScore(cv, prob, box);
    if (score < options.box_thresh) continue;
    const perimeter = polygonPerimeter(box);
    const grown = perimeter ? offsetPolygon(box, (polygonArea(box) * options.unclip_ratio) / perimeter) : [];
    if (grown.length !== 1) continue;
    [box, shortSide] = minAreaBox(cv, grown[0]);
    if (shortSide < options.min_size + 2) continue;
    found.push([box.map(([x, y]) => [f32(x * f32(scale[0])), f32(y * f32(scale[1]))]), score]);
  }
  [prob, bitmap, contours, hierarchy].forEach((m) => m.delete());
  return found;
}

const RUNNING_UP = 2.0; // as recog_edge.boxes

/** Whether a box (corners in order) runs up or down the page: its side along y at least RUNNING_UP
 * times its side along x (recog_edge.boxes.runs_up_or_down). */
export function runsUpOrDown(box) {
  const across = Math.hypot(box[1][0] - box[0][0], box[1][1] - box[0][1]);
  const along = Math.hypot(box[3][0] - box[0][0], box[3][1] - box[0][1]);
  const vertical = Math.abs(box[3][1] - box[0][1]) >= Math.abs(box[1][1] - box[0][1]);
  const [tall, wide] = vertical ? [along, across] : [across, along];
  return tall >= RUNNING_UP * Math.max(wide, 1e-6);
}

/** The share of a probability map's (Float32Array, h x w) text pixels (above `thresh`) that no box
 * (corners in map pixels) covers (recog_edge.boxes.unboxed_share). */
export function unboxedShare(cv, probData, h, w, boxes, thresh) {
  const covered = cv.Mat.zeros(h, w, cv.CV_8UC1);
  for (const box of boxes) {
    const poly = cv.matFromArray(4, 1, cv.CV_32SC2, box.flatMap(([x, y]) => [roundHalfEven(x), roundHalfEven(y)]));
    const polys = new cv.MatVector();
    polys.push_back(poly);
    cv.fillPoly(covered, polys, new cv.Scalar(1));
    [poly, polys].forEach((m) => m.delete());
  }
  let text = 0, unboxed = 0;
  for (let i = 0; i < probData.length; i++) {
    if (probData[i] > thresh) {
      text++;
      if (!covered.data[i]) unboxed++;
    }
  }
  covered.delete();
  return text ? unboxed / text : 0;
}

/** `box` with `margin` times its height added above and below and `ends` times it before and after, along its own axes. */
function growBox(box, margin, ends = margin) {
  const across = [f32(box[1][0] - box[0][0]), f32(box[1][1] - box[0][1])];
  const down = [f32(box[3][0] - box[0][0]), f32(box[3][1] - box[0][1])];
  const height = f32(Math.hypot(...down)), width = f32(Math.hypot(...across));
  if (height === 0 || !width) return box;
  const pad = f32(margin * height), endPad = f32(ends * height); // numpy casts the Python float to the array's float32
  const u = across.map((a) => f32(f32(a / width) * endPad)), v = down.map((d) => f32(f32(d / height) * pad));
  const signs = [[-1, -1], [1, -1], [1, 1], [-1, 1]];
  return box.map((p, i) => [0, 1].map((k) => f32(p[k] + f32(signs[i][0] * u[k] + signs[i][1] * v[k]))));
}

/** The quadrilateral `box` (grown by the crop margins) of `src` (a CV_8UC3 Mat) warped upright; a new Mat. */
export function cropBox(cv, src, box, margin = CROP_MARGIN, ends = CROP_ENDS) {
  box = growBox(box, margin, ends);
  const width = Math.max(roundHalfEven(Math.max(dist(box[1], box[0]), dist(box[2], box[3]))), 1);
  const height = Math.max(roundHalfEven(Math.max(dist(box[3], box[0]), dist(box[2], box[1]))), 1);
  const from = cv.matFromArray(4, 1, cv.CV_32FC2, box.flat());
  const to = cv.matFromArray(4, 1, cv.CV_32FC2, [0, 0, width, 0, width, height, 0, height]);
  const matrix = cv.getPerspectiveTransform(from, to);
  const out = new cv.Mat();
  cv.warpPerspective(src, out, matrix, new cv.Size(width, height), cv.INTER_CUBIC, cv.BORDER_REPLICATE, new cv.Scalar());
  [from, to, matrix].forEach((m) => m.delete());
  return out;
}

/** A box's corners from the top-left of its text: a box taller than wide (1.5x) reads turned 90 degrees. */
export function readingCorners(box) {
  return dist(box[3], box[0]) >= 1.5 * dist(box[1], box[0]) ? [box[3], box[0], box[1], box[2]] : box;
}

/** The same box read upside down. */
export const turnHalf = (box) => [box[2], box[3], box[0], box[1]];

/** [h, w] an image is resized to before padding (recog_edge.boxes.detection_size). */
export function detectionSize(height, width, options) {
  let scale = Math.min(1.0, options.max_side / Math.max(height, width));
  if (Math.min(height, width) * scale < options.min_side) {
    scale = Math.min(options.min_side / Math.min(height, width), options.max_side / Math.max(height, width));
  }
  return [Math.max(1, roundHalfEven(height * scale)), Math.max(1, roundHalfEven(width * scale))];
}

/** `src` (CV_8UC3 Mat) as a detector reads it (recog_edge.boxes.detection_input): resized, its luminance in all
 * three channels, padded to the stride -> [Mat, h, w]. */
export function detectionInput(cv, src, options) {
  const [h, w] = detectionSize(src.rows, src.cols, options);
  const resized = new cv.Mat(), padded = new cv.Mat();
  cv.resize(src, resized, new cv.Size(w, h), 0, 0, w < src.cols ? cv.INTER_AREA : cv.INTER_LINEAR);
  const grey = new cv.Mat(); // the detector reads luminance, in all three channels
  cv.cvtColor(resized, grey, cv.COLOR_RGB2GRAY);
  cv.cvtColor(grey, resized, cv.COLOR_GRAY2RGB);
  grey.delete();
  const pad = (n) => (STRIDE - (n % STRIDE)) % STRIDE;
  cv.copyMakeBorder(resized, padded, 0, pad(h), 0, pad(w), cv.BORDER_REPLICATE, new cv.Scalar());
  resized.delete();
  return [padded, h, w];
}
