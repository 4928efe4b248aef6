// `node js/frontend-cli.mjs CONFIG.json SAMPLES.f32 OUT.f32 PIECE`: the JS frontend's frames for raw
// float32 samples fed PIECE samples at a time (a FeatureStream), for the parity test with Python.
import { readFileSync, writeFileSync } from "node:fs";
import { FeatureStream, LogMel } from "./features.js";

const [configPath, samplesPath, outPath, piece] = process.argv.slice(2);
const bytes = readFileSync(samplesPath);
const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
const stream = new FeatureStream(new LogMel(JSON.parse(readFileSync(configPath, "utf8"))));
const parts = [];
for (let i = 0; i < samples.length; i += Number(piece)) parts.push(stream.accept(samples.subarray(i, i + Number(piece))));
parts.push(stream.finish());
const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
writeFileSync(outPath, Buffer.from(out.buffer));
