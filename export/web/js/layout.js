// Reading order in the browser: a port of recog_edge/layout.py (boxes -> blocks -> rows -> boxes,
// column regions, paragraphs) on plain arrays. `bounds` are [x0, y0, x1, y1] per box, upright.
import { roundHalfEven } from "./onnx.js";

const ROW_OVERLAP = 0.5, MIN_COLUMN_BANDS = 3, GUTTER_LINES = 0.5, THIN = 0.5, GUTTER_OVER_GAPS = 1.5, COLUMN_ALIGN = 3.0;
const TEXT_LIKE = 3.0, TEXT_LINE = 8.0, ALONE_ROWS = 2, SHARED_ROWS = 0.7, PROSE_LINE = 10.0, PROSE_FILL = 0.8, OUT_OF_STEP = 0.12;
const SECTION_GAP = 2.0, SECTION_OVER_GAPS = 2.0, PARAGRAPH_GAP = 0.5, HEADING_RATIO = 1.3;
const MENU_ITEMS = 4, LOOKAHEAD_BANDS = 2, GUTTER_OVER_ROW = 2.0, FIRST_GAP = 4.0;

/** numpy.median. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const minOf = (xs) => Math.min(...xs), maxOf = (xs) => Math.max(...xs);
const stableSort = (xs, key) => xs.map((x, i) => [key(x), i, x]).sort((a, b) => compare(a[0], b[0]) || a[1] - b[1]).map((e) => e[2]);
const compare = (a, b) => (Array.isArray(a) ? a.reduce((c, v, i) => c || v - b[i], 0) : a - b);

/** Indices of `bounds` as blocks of rows of boxes, in reading order. */
export function readingOrder(bounds) {
  return blocks(bounds, bounds.map((_, i) => i));
}

/** The page's text: a row's boxes joined by a space, rows by a newline, blocks by a blank line. */
export function pageText(blockList, texts) {
  const rendered = blockList.map((block) => block.map((row) => row.filter((i) => texts[i]).map((i) => texts[i]).join(" ")).join("\n"));
  return rendered.map((b) => b.split("\n").filter((r) => r).join("\n")).filter((b) => b).join("\n\n");
}

const height = (bounds, i) => bounds[i][3] - bounds[i][1];

function bands(bounds, idx) {
  const centre = (i) => (bounds[i][1] + bounds[i][3]) / 2;
  const out = [];
  for (const i of stableSort(idx, (i) => [centre(i), bounds[i][0]])) {
    if (out.length) {
      const lastBand = out[out.length - 1];
      const last = lastBand.reduce((a, j) => (bounds[j][3] > bounds[a][3] ? j : a), lastBand[0]);
      const overlap = Math.min(bounds[i][3], bounds[last][3]) - Math.max(bounds[i][1], bounds[last][1]);
      if (overlap >= ROW_OVERLAP * Math.min(height(bounds, i), height(bounds, last))) {
        lastBand.push(i);
        continue;
      }
    }
    out.push([i]);
  }
  return out.map((band) => stableSort(band, (i) => bounds[i][0]));
}

function gaps(bounds, band, minWidth) {
  const out = [];
  let right = -Infinity;
  for (const i of stableSort(band, (i) => bounds[i][0])) {
    if (right > -Infinity && bounds[i][0] - right >= minWidth) out.push([right, bounds[i][0]]);
    right = Math.max(right, bounds[i][2]);
  }
  return out;
}

/** No box of the band is as wide as a line of text (layout.py's _short_items). */
function shortItems(bounds, band, line) {
  return band.every((i) => bounds[i][2] - bounds[i][0] < TEXT_LINE * line);
}

function gutterCandidates(bounds, band, line) {
  const all = gaps(bounds, band, 0.0);
  const shortRow = shortItems(bounds, band, line);
  return all.filter(([lo, hi]) => {
    const others = all.filter(([a, b]) => !(a === lo && b === hi)).map(([a, b]) => b - a);
    return hi - lo >= GUTTER_LINES * line && !(shortRow && others.length && hi - lo < GUTTER_OVER_GAPS * maxOf(others));
  });
}

/** A table's cells start out of step with the prose lines beside them (layout.py's _out_of_step). */
function outOfStep(bounds, items, prose, line) {
  const tops = prose.map((i) => bounds[i][1]).sort((a, b) => a - b);
  const steps = tops.slice(1).map((t, k) => t - tops[k]).filter((d) => d > 0.5 * line);
  if (!steps.length) return false;
  const pitch = median(steps);
  const offsets = items.map((i) => minOf(tops.map((t) => Math.abs(bounds[i][1] - t))));
  return median(offsets) >= OUT_OF_STEP * pitch;
}

function columnRun(bounds, bandList, start, line) {
  let best = null;
  let candidates = gutterCandidates(bounds, bandList[start], line);
  if (start + 1 < bandList.length) {
    candidates = candidates.concat(gutterCandidates(bounds, bandList[start + 1], line));
    if (Math.min(bandList[start].length, bandList[start + 1].length) === 1) {  // panels whose lines are out of step
      candidates = candidates.concat(gaps(bounds, bandList[start].concat(bandList[start + 1]), GUTTER_LINES * line));
    }
  }
  const centre = (i) => (bounds[i][0] + bounds[i][2]) / 2;
  for (let [lo, hi] of candidates) {
    let end = start, widest = 0.0;
    while (end < bandList.length) {
      const band = bandList[end];
      if (end > start) {
        const gap = minOf(band.map((i) => bounds[i][1])) - maxOf(bandList[end - 1].map((i) => bounds[i][3]));
        if (gap > (widest > 0 ? Math.max(SECTION_GAP * line, SECTION_OVER_GAPS * widest) : FIRST_GAP * line)) break;
        widest = Math.max(widest, gap);
      }
      const mid = (lo + hi) / 2;
      const edges = band.filter((i) => height(bounds, i) >= THIN * line  // a part-found row of dashes
        || (bounds[i][0] <= lo && bounds[i][2] >= hi));  // does not narrow it; a rule across ends it
      const newLo = maxOf([lo, ...edges.filter((i) => centre(i) < mid).map((i) => bounds[i][2])]);
      const newHi = minOf([hi, ...edges.filter((i) => centre(i) >= mid).map((i) => bounds[i][0])]);
      if (newHi - newLo < GUTTER_LINES * line) break;
      [lo, hi, end] = [newLo, newHi, end + 1];
    }
    const mid = (lo + hi) / 2;
    const firstRight = bandList[start].filter((i) => centre(i) >= mid).map((i) => bounds[i][0]);
    if (end - start < MIN_COLUMN_BANDS || (firstRight.length && minOf(firstRight) - hi > COLUMN_ALIGN * line)) continue;
    const run = bandList.slice(start, end);
    const halves = [true, false].map((side) => run.flat().filter((i) => (centre(i) < mid) === side));
    if (Math.min(...halves.map((h) => h.length)) < 2) continue;
    const sides = halves.map((h) => h.map((i) => bounds[i][2] - bounds[i][0]));  // box widths, left side then right
    const textSides = sides.map((w) => median(w) >= Math.max(TEXT_LIKE * (hi - lo), TEXT_LINE * line));
    const left = run.map((band) => band.filter((i) => centre(i) < mid).length);
    const alone = [left.filter((n, k) => n === run[k].length).length, left.filter((n) => n === 0).length];
    const shared = run.length - alone[0] - alone[1];  // rows with boxes on both sides
    const independent = Math.min(...alone) >= ALONE_ROWS && shared <= SHARED_ROWS * run.length;  // each side has rows of its own
    const prose = sides.map((w, k) => textSides[k] && median(w) >= Math.max(PROSE_LINE * line, PROSE_FILL * maxOf(w)));
    const beside = prose.some((p, k) => p && alone[k] >= ALONE_ROWS && outOfStep(bounds, halves[1 - k], halves[k], line));
    if ((textSides.every(Boolean) || independent || beside) && (best === null || end > best[0])) best = [end, mid, hi - lo];
  }
  return best;
}

function blocks(bounds, idx) {
  if (!idx.length) return [];
  const line = median(idx.map((i) => height(bounds, i)));
  const bandList = bands(bounds, idx);
  const runs = new Map(); // band -> its column run, each looked for once
  const runAt = (band) => {
    if (!runs.has(band)) runs.set(band, columnRun(bounds, bandList, band, line));
    return runs.get(band);
  };
  let out = [], rows = [], start = 0;
  while (start < bandList.length) {
    let run = runAt(start);
    // a gutter a row or two lower that runs further (or as far, below a menu bar): this row is read above its columns
    const menu = bandList[start].length >= MENU_ITEMS && shortItems(bounds, bandList[start], line);
    for (let s = start + 1; run !== null && s < Math.min(start + 1 + LOOKAHEAD_BANDS, run[0]); s++) {
      const later = runAt(s);
      if (later !== null && (later[0] > run[0] || (later[0] === run[0] && (menu || later[2] >= GUTTER_OVER_ROW * run[2])))) {
        run = null;
      }
    }
    if (run === null) {
      rows.push(bandList[start]);
      start += 1;
      continue;
    }
    const [end, mid] = run;
    out = out.concat(paragraphs(bounds, rows));
    rows = [];
    const members = bandList.slice(start, end).flat();
    const left = members.filter((i) => (bounds[i][0] + bounds[i][2]) / 2 < mid);
    out = out.concat(blocks(bounds, left), blocks(bounds, members.filter((i) => !left.includes(i))));
    start = end;
  }
  return out.concat(paragraphs(bounds, rows));
}

function paragraphs(bounds, rows) {
  const out = [];
  for (const row of rows) {
    if (out.length) {
      const lastBlock = out[out.length - 1], above = lastBlock[lastBlock.length - 1];
      const hAbove = median(above.map((i) => height(bounds, i))), hRow = median(row.map((i) => height(bounds, i)));
      const gap = minOf(row.map((i) => bounds[i][1])) - maxOf(above.map((i) => bounds[i][3]));
      const ratio = Math.max(hAbove, hRow) / Math.max(Math.min(hAbove, hRow), 1e-6);
      if (gap <= PARAGRAPH_GAP * Math.min(hAbove, hRow) && ratio < HEADING_RATIO) {
        lastBlock.push(row);
        continue;
      }
    }
    out.push([row]);
  }
  return out;
}

/** Box corners (reading corners) rotated so the page's text runs left to right (recog_edge.layout.text_frame). */
export function textFrame(corners) {
  const angles = corners.map((c) => Math.atan2(c[1][1] - c[0][1], c[1][0] - c[0][0]));
  const turns = angles.map((a) => (((roundHalfEven(a / (Math.PI / 2)) % 4) + 4) % 4));
  const counts = [0, 1, 2, 3].map((t) => turns.filter((x) => x === t).length);
  const turn = counts.indexOf(Math.max(...counts));
  const mod = (a, m) => a - Math.floor(a / m) * m;
  const residual = angles.map((a) => mod(a - (turn * Math.PI) / 2 + Math.PI, 2 * Math.PI) - Math.PI);
  const angle = (turn * Math.PI) / 2 + median(residual.filter((_, i) => turns[i] === turn));
  const [cos, sin] = [Math.cos(-angle), Math.sin(-angle)];
  return corners.map((c) => c.map(([x, y]) => [x * cos - y * sin, x * sin + y * cos]));
}
