// Runs an ONNX model with ONNX Runtime for Node (the independent reference tests/onnx_ort.sh
// compares sepnet against): reads a float32 .npy input, writes the first output as float32 .npy.
// Usage: node scripts/ort_run.mjs model.onnx x.npy out.npy [model.onnx x.npy out.npy ...]
// onnxruntime-node is resolved from NODE_PATH or scripts/ort/node_modules (npm ci there, with
// ONNXRUNTIME_NODE_INSTALL=skip so its post-install step downloads no GPU provider).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 3 !== 0) {
  console.error("usage: node scripts/ort_run.mjs model.onnx x.npy out.npy [model.onnx x.npy out.npy ...]");
  process.exit(2);
}
const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), "ort", "package.json"));
const ort = require("onnxruntime-node");

function readNpy(path) {
  const bytes = readFileSync(path);
  if (bytes.toString("latin1", 0, 6) !== "\x93NUMPY") throw new Error(`${path}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString("latin1", start, start + headerLength);
  if (!/'descr':\s*'<f4'/.test(header) || !/'fortran_order':\s*False/.test(header))
    throw new Error(`${path}: only C-order float32 ('<f4') arrays are supported`);
  const dims = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(",").map((s) => s.trim()).filter((s) => s).map(Number);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start + headerLength, bytes.byteOffset + bytes.length));
  return { dims, data };
}

function writeNpy(path, dims, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(", ")}${dims.length === 1 ? "," : ""}), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const prefix = Buffer.alloc(10);
  prefix.write("\x93NUMPY", 0, "latin1");
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, "latin1"), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

for (let i = 0; i < args.length; i += 3) {
  const [model, inputPath, outputPath] = args.slice(i, i + 3);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: "disabled" });
  const x = readNpy(inputPath);
  const results = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", x.data, x.dims) });
  const y = results[session.outputNames[0]];
  writeNpy(outputPath, y.dims, y.data);
  console.log(`${model}: ${session.inputNames[0]} [${x.dims}] -> ${session.outputNames[0]} [${y.dims}] (ONNX Runtime ${ort.env.versions.common})`);
}
