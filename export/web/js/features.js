// Log-mel frames in JavaScript: a port of recog_edge/features.py (NumpyLogMel, FeatureStream,
// ChunkQueue), in float64 like numpy, so the frames equal the Python frontend's within 1e-4.

/** Slaney-normalised mel filterbank, as recog_edge.features.mel_filterbank: n_mels rows of n_fft/2+1. */
export function melFilterbank(nMels, nFft, sampleRate, fMin = 0, fMax = null) {
  fMax = fMax || sampleRate / 2;
  const logStep = Math.log(6.4) / 27.0;
  const hzToMel = (f) => (f >= 1000 ? 15.0 + Math.log(Math.max(f, 1e-10) / 1000.0) / logStep : f / (200.0 / 3));
  const melToHz = (m) => (m >= 15.0 ? 1000.0 * Math.exp(logStep * (m - 15.0)) : m * (200.0 / 3));
  const bins = nFft / 2 + 1;
  const fftFreqs = linspace(0, sampleRate / 2, bins).map((f) => vtlpWarp(f, 1.0, sampleRate));
  const melPoints = linspace(hzToMel(fMin), hzToMel(fMax), nMels + 2).map(melToHz);
  const weights = [];
  for (let m = 0; m < nMels; m++) {
    const [lower, center, upper] = [melPoints[m], melPoints[m + 1], melPoints[m + 2]];
    const norm = 2.0 / (upper - lower);
    const row = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      const up = (fftFreqs[k] - lower) / (center - lower);
      const down = (upper - fftFreqs[k]) / (upper - center);
      row[k] = Math.max(0.0, Math.min(up, down)) * norm;
    }
    weights.push(row);
  }
  return weights;
}

/** numpy.linspace(start, stop, num): start + i * step, the last value exactly stop. */
function linspace(start, stop, num) {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : start + i * step));
}

/** recog_edge.features.vtlp_warp for one frequency (identity at alpha 1, kept for the same rounding). */
function vtlpWarp(freq, alpha, sampleRate, boundaryHz = 4800.0) {
  const nyquist = sampleRate / 2;
  const knee = (boundaryHz * Math.min(alpha, 1.0)) / alpha;
  const upper = nyquist - ((nyquist - boundaryHz * Math.min(alpha, 1.0)) / (nyquist - knee)) * (nyquist - freq);
  return freq <= knee ? freq * alpha : upper;
}

/** In-place iterative radix-2 FFT of (re, im), length a power of two. */
function fft(re, im) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    for (let k = 0; k < len / 2; k++) {
      const wr = Math.cos(angle * k), wi = Math.sin(angle * k);
      for (let i = k; i < n; i += len) {
        const j = i + len / 2;
        const tr = re[j] * wr - im[j] * wi, ti = re[j] * wi + im[j] * wr;
        re[j] = re[i] - tr; im[j] = im[i] - ti;
        re[i] += tr; im[i] += ti;
      }
    }
  }
}

/** Normalised log-mel frames from the feature settings an export's metadata carries. */
export class LogMel {
  constructor(config) {
    this.sampleRate = Number(config.sample_rate);
    this.nFft = Number(config.n_fft);
    this.nMels = Number(config.n_mels);
    if (this.nFft & (this.nFft - 1)) throw new Error(`n_fft ${this.nFft} is not a power of two`);
    this.hop = Math.round((this.sampleRate * config.hop_ms) / 1000);
    const win = Math.round((this.sampleRate * config.window_ms) / 1000);
    [this.floor, this.mean, this.std] = [config.log_floor, config.norm_mean, config.norm_std];
    this.window = new Float64Array(this.nFft); // a symmetric Hann window centred in the FFT frame, as torch.stft
    const left = Math.floor((this.nFft - win) / 2);
    for (let i = 0; i < win; i++) this.window[left + i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (win - 1));
    this.filterbank = melFilterbank(this.nMels, this.nFft, this.sampleRate);
    this.re = new Float64Array(this.nFft);
    this.im = new Float64Array(this.nFft);
  }

  /** Samples padded by n_fft/2 on the left -> Float32Array (count * nMels), count = 1 + (N - n_fft) / hop. */
  frames(padded) {
    const count = padded.length >= this.nFft ? Math.floor((padded.length - this.nFft) / this.hop) + 1 : 0;
    const out = new Float32Array(count * this.nMels);
    const bins = this.nFft / 2 + 1;
    const power = new Float64Array(bins);
    for (let t = 0; t < count; t++) {
      for (let i = 0; i < this.nFft; i++) {
        this.re[i] = padded[t * this.hop + i] * this.window[i];
        this.im[i] = 0;
      }
      fft(this.re, this.im);
      for (let k = 0; k < bins; k++) power[k] = this.re[k] * this.re[k] + this.im[k] * this.im[k];
      for (let m = 0; m < this.nMels; m++) {
        const row = this.filterbank[m];
        let mel = 0;
        for (let k = 0; k < bins; k++) mel += power[k] * row[k];
        out[t * this.nMels + m] = (Math.log(mel + this.floor) - this.mean) / this.std;
      }
    }
    return out;
  }
}

/** Samples in, frames out as soon as each frame's window is complete (recog_edge FeatureStream):
 * the offline frontend's frames on the whole signal, centred with zero padding at both ends. */
export class FeatureStream {
  constructor(logmel) {
    this.logmel = logmel;
    this.buffer = new Float32Array(logmel.nFft / 2);
    this.samples = 0;
    this.count = 0;
  }

  /** Samples at the frontend's rate (Float32Array) -> the newly complete frames (Float32Array, T * nMels). */
  accept(samples) {
    this.buffer = concat(this.buffer, samples);
    this.samples += samples.length;
    return this.take(null);
  }

  /** No more audio: the remaining frames, up to the offline count samples / hop + 1. */
  finish() {
    const lm = this.logmel;
    this.buffer = concat(this.buffer, new Float32Array(lm.nFft / 2 + lm.hop));
    return this.take(Math.floor(this.samples / lm.hop) + 1);
  }

  take(total) {
    const lm = this.logmel;
    let n = this.buffer.length >= lm.nFft ? Math.floor((this.buffer.length - lm.nFft) / lm.hop) + 1 : 0;
    if (total !== null) n = Math.min(n, total - this.count);
    if (n <= 0) return new Float32Array(0);
    const feats = lm.frames(this.buffer.subarray(0, (n - 1) * lm.hop + lm.nFft));
    this.buffer = this.buffer.slice(n * lm.hop);
    this.count += n;
    return feats;
  }
}

/** Feature frames waiting for the encoder, handed out in chunks; a finished stream's last chunk is zero-padded. */
export class ChunkQueue {
  constructor(nMels) {
    this.nMels = nMels;
    this.frames = new Float32Array(0);
    this.finished = false;
  }

  get length() {
    return this.frames.length / this.nMels;
  }

  push(frames) {
    this.frames = concat(this.frames, frames);
  }

  ready(chunk) {
    return this.length >= chunk || (this.finished && this.length > 0);
  }

  /** -> [chunk * nMels features, how many frames of them are real]. */
  pop(chunk) {
    const real = Math.min(chunk, this.length);
    const out = new Float32Array(chunk * this.nMels);
    out.set(this.frames.subarray(0, real * this.nMels));
    this.frames = this.frames.slice(real * this.nMels);
    return [out, real];
  }
}

function concat(a, b) {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
