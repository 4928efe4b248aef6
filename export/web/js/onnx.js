// Loading exported models: fetch an ONNX file, read recog's metadata from it (onnxruntime-web does
// not expose a model's metadata_props, so they are read from the protobuf here) and open a WASM session.
import * as ort from "../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";

ort.env.wasm.wasmPaths = new URL("../node_modules/onnxruntime-web/dist/", import.meta.url).href;
ort.env.wasm.numThreads = 1; // one thread: the same on every page, with or without cross-origin isolation
ort.env.wasm.proxy = false;

export { ort };

/** A protobuf varint at bytes[pos] -> [value, next position]; values past 2^53 are not needed here. */
function varint(bytes, pos) {
  let value = 0, scale = 1, byte;
  do {
    if (pos >= bytes.length) throw new Error("truncated protobuf");
    byte = bytes[pos++];
    value += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80);
  return [value, pos];
}

/** The fields of one protobuf message: [field number, wire type, value or [start, end) of its bytes]. */
function* fields(bytes, start, end) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = varint(bytes, pos);
    const [field, wire] = [Math.floor(key / 8), key & 7];
    if (wire === 0) {
      let value;
      [value, pos] = varint(bytes, pos);
      yield [field, wire, value];
    } else if (wire === 2) {
      let length;
      [length, pos] = varint(bytes, pos);
      yield [field, wire, [pos, pos + length]];
      pos += length;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
    } else {
      throw new Error(`not an ONNX file (protobuf wire type ${wire})`);
    }
  }
}

/** ModelProto.metadata_props (field 14: key 1, value 2) of an ONNX file's bytes, as an object. */
export function onnxMetadata(bytes) {
  const text = new TextDecoder();
  const props = {};
  for (const [field, wire, span] of fields(bytes, 0, bytes.length)) {
    if (field !== 14 || wire !== 2) continue;
    const entry = {};
    for (const [f, w, [a, b]] of fields(bytes, span[0], span[1])) if (w === 2) entry[f] = text.decode(bytes.subarray(a, b));
    props[entry[1]] = entry[2];
  }
  return props;
}

/** Fetch `url` (an exported ONNX file) -> {session, meta}: meta is the export's `recog` metadata.
 * Throws an Error naming the file when it cannot be fetched, is not an export, or fails to load. */
export async function loadModel(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(`${url}: could not be fetched (${err.message})`);
  }
  if (!response.ok) throw new Error(`${url}: could not be fetched (HTTP ${response.status})`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  let meta;
  try {
    meta = JSON.parse(onnxMetadata(bytes).recog);
  } catch (err) {
    throw new Error(`${url}: not a recog export (no readable "recog" metadata: ${err.message})`);
  }
  try {
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    return { session, meta };
  } catch (err) {
    throw new Error(`${url}: onnxruntime-web could not load it (${err.message || err})`);
  }
}

/** A model folder's URL with a trailing slash, resolved against the page. */
export function folderUrl(folder) {
  const url = new URL(folder, document.baseURI);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url.href;
}

/** Round half to even, as Python's round() and numpy's round/rint. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
