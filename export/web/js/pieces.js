// Long text lines read in pieces cut at word gaps: a port of recog_edge/pieces.py, in the same
// integer arithmetic on OpenCV's grey levels, so that the page cuts the columns recog-edge cuts.

export const PIECE = 16; // a line crop wider than this many of its heights is read in pieces (0: never)
const GAP = 6; // ... cut in the widest run of background columns at least 1/GAP of its height wide
const CENTRE = [3, 7]; // ... whose centre lies in this span of tenths of the part being cut
const FAINT = 4; // a column is background where its ink is below 1/FAINT of the 95th percentile column's
const BLANKS = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g; // what a piece's text is trimmed of (as recog_edge.pieces)

/** Columns [left, right) of a Mat as a Mat of its own; the caller deletes it. (copyTo, not clone: this
 * opencv.js's clone of a region keeps its parent's row step and copies the wrong pixels.) */
export function cropColumns(cv, mat, left, right) {
  const roi = mat.roi(new cv.Rect(left, 0, right - left, mat.rows));
  const out = new cv.Mat();
  roi.copyTo(out);
  roi.delete();
  return out;
}

/** An RGB crop (CV_8UC3 Mat) -> one boolean per column, true where it has no ink
 * (recog_edge.pieces.background_columns). */
function backgroundColumns(cv, crop) {
  const grey = new cv.Mat();
  try {
    cv.cvtColor(crop, grey, cv.COLOR_RGB2GRAY);
    const { rows, cols } = grey;
    const data = grey.data; // once: each .data access makes a new view
    const levels = Uint8Array.from(data.subarray(0, rows * cols)).sort();
    const background = levels[Math.floor(levels.length / 2)];
    const ink = new Int32Array(cols);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) ink[x] = Math.max(ink[x], Math.abs(data[y * cols + x] - background));
    }
    const strong = Int32Array.from(ink).sort()[Math.floor((95 * (cols - 1)) / 100)];
    return Array.from(ink, (v) => FAINT * v < strong);
  } finally {
    grey.delete();
  }
}

/** The columns where `crop` is cut into pieces at most `piece` heights wide where its word gaps allow,
 * ascending (recog_edge.pieces.cut_columns). */
export function cutColumns(cv, crop, piece = PIECE) {
  const { rows: height, cols: width } = crop;
  if (piece <= 0 || height === 0 || width <= piece * height) return [];
  const background = backgroundColumns(cv, crop), runs = [];
  for (let x = 0; x < width;) {
    if (!background[x]) { x++; continue; }
    const start = x;
    while (x < width && background[x]) x++;
    if (GAP * (x - start) >= height) runs.push([start, x]);
  }
  const cuts = [];
  const cut = (left, right) => {
    if (right - left <= piece * height) return;
    const span = right - left;
    let best = null, bestKey = null;
    for (const [a, b] of runs) {
      const twice = a + b - 2 * left;
      const key = [a - b, Math.abs(twice - span)]; // the widest, then the nearest the middle
      if (a >= left && b <= right && 2 * CENTRE[0] * span < 10 * twice && 10 * twice < 2 * CENTRE[1] * span
          && (bestKey === null || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1]))) {
        [best, bestKey] = [[a, b], key];
      }
    }
    if (best === null) return;
    const middle = Math.floor((best[0] + best[1]) / 2);
    cut(left, middle);
    cuts.push(middle);
    cut(middle, right);
  };
  cut(0, width);
  return cuts;
}

/** `read` (async: crops -> [[text, confidence], ...]) with each crop wider than `piece` heights read as
 * its pieces in the same call, their texts joined by a space (recog_edge.pieces.in_pieces). */
export function inPieces(cv, read, piece = PIECE) {
  if (piece <= 0) return read;
  return async (crops) => {
    const parts = [], spans = [];
    try {
      for (const crop of crops) {
        const edges = [0, ...cutColumns(cv, crop, piece), crop.cols];
        spans.push([parts.length, parts.length + edges.length - 1]);
        if (edges.length === 2) {
          parts.push(crop);
          continue;
        }
        for (let i = 0; i + 1 < edges.length; i++) parts.push(cropColumns(cv, crop, edges[i], edges[i + 1]));
      }
      const results = await read(parts);
      return spans.map(([first, end]) => {
        if (end - first === 1) return results[first];
        let logSum = 0, widths = 0, zero = false;
        const texts = [];
        for (let i = first; i < end; i++) { // left to right, as recog_edge.pieces adds
          logSum += parts[i].cols * Math.log(Math.max(results[i][1], 1e-300));
          widths += parts[i].cols;
          zero ||= results[i][1] <= 0;
          const text = results[i][0].replace(BLANKS, "");
          if (text) texts.push(text);
        }
        return [texts.join(" "), zero ? 0 : Math.exp(logSum / widths)];
      });
    } finally {
      // the parts cut here (an uncut crop, its span's one part, is the caller's)
      spans.forEach(([first, end]) => { if (end - first > 1) for (let i = first; i < end; i++) parts[i]?.delete(); });
    }
  };
}
