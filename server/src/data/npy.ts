/**
 * NumPy `.npy` files (format version 1.0), written and read without numpy: the torch
 * engine memory-maps the data sets the Node side exports (data/export.ts), and the
 * conformance tests exchange tensors with Python the same way.
 *
 * Layout: `\x93NUMPY`, version 1.0, a little-endian uint16 header length, the header (a
 * Python dict literal: dtype, C order, shape) padded with spaces to a 64-byte boundary and
 * ended by `\n`, then the values, little-endian, row-major.
 *
 * Writing streams: the header, then the values in slices straight from the typed array
 * (no copy of the whole array), so exporting a large data set costs no second copy of it
 * in Node's memory.
 *
 * 8-bit unit values (`writeUnitNpy`): pixels and human maps in [0, 1] are stored as uint8
 * codes b when every value is exactly Math.fround(b / 255) — the float32 that the decoders
 * produce from 8-bit files — so the torch engine recovers the very same float32 values with
 * a 256-entry table (sgt_torch/data.py), 4× less disk and memory than float32. Any value
 * off that grid keeps the whole array float32: the export never changes a sample.
 */
import * as fs from 'node:fs';

export type NpyArray = Float32Array | Float64Array | Int32Array | Uint8Array;

const DTYPES: { descr: string; ctor: new (b: ArrayBuffer, o: number, n: number) => NpyArray; bytes: number }[] = [
  { descr: '<f4', ctor: Float32Array, bytes: 4 },
  { descr: '<f8', ctor: Float64Array, bytes: 8 },
  { descr: '<i4', ctor: Int32Array, bytes: 4 },
  { descr: '|u1', ctor: Uint8Array, bytes: 1 },
];

function descrOf(a: NpyArray): string {
  if (a instanceof Float32Array) return '<f4';
  if (a instanceof Float64Array) return '<f8';
  if (a instanceof Int32Array) return '<i4';
  return '|u1';
}

function checkShape(length: number, shape: readonly number[]): void {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== length) throw new RangeError(`npy: shape ${shape.join('×')} holds ${count} values, got ${length}`);
}

/** The 10-byte preamble and the padded header of an .npy file. */
export function npyHeader(descr: string, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1')]);
}

/** The bytes of an .npy file holding `values` with `shape` (the product must equal the length). */
export function encodeNpy(values: NpyArray, shape: readonly number[]): Buffer {
  checkShape(values.length, shape);
  // typed arrays are in the host's byte order; every platform Node runs on is little-endian
  return Buffer.concat([npyHeader(descrOf(values), shape), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

/** Bytes per write(2) when streaming (a few MiB: large enough to be fast, small enough to stay out of the way). */
const SLICE_BYTES = 8 << 20;

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/** Writes an .npy file: header, then the values in slices of the array itself (no whole-array copy). */
export function writeNpy(file: string, values: NpyArray, shape: readonly number[]): void {
  checkShape(values.length, shape);
  const fd = fs.openSync(file, 'w');
  try {
    writeAll(fd, npyHeader(descrOf(values), shape));
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    for (let at = 0; at < bytes.length; at += SLICE_BYTES) writeAll(fd, bytes.subarray(at, Math.min(at + SLICE_BYTES, bytes.length)));
  } finally {
    fs.closeSync(fd);
  }
}

/** Math.fround(b / 255) for b = 0…255: the float32 an 8-bit value decodes to. */
export const UNIT8_VALUES: Float32Array = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/** The uint8 code of a float32 value when it is exactly UNIT8_VALUES[code], else -1. */
export function unit8Code(v: number): number {
  const b = Math.round(v * 255);
  // Object.is: -0 is not code 0 (its bits differ); NaN matches nothing
  return b >= 0 && b <= 255 && Object.is(UNIT8_VALUES[b], v) ? b : -1;
}

/** True when every value is on the 8-bit grid (so writeUnitNpy stores it as uint8, losslessly). */
export function isUnit8(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (unit8Code(values[i]) < 0) return false;
  return true;
}

export type UnitEncoding = 'unit8' | 'float32';

/**
 * Writes float32 values in [0, 1] as uint8 codes when that is lossless (see the module
 * comment), else as float32. Converts slice by slice while writing: memory beyond the
 * array itself stays one slice. Returns the encoding written.
 */
export function writeUnitNpy(file: string, values: Float32Array, shape: readonly number[]): UnitEncoding {
  checkShape(values.length, shape);
  if (!isUnit8(values)) {
    writeNpy(file, values, shape);
    return 'float32';
  }
  const fd = fs.openSync(file, 'w');
  try {
    writeAll(fd, npyHeader('|u1', shape));
    const codes = new Uint8Array(Math.min(SLICE_BYTES, values.length));
    for (let at = 0; at < values.length; at += codes.length) {
      const n = Math.min(codes.length, values.length - at);
      for (let i = 0; i < n; i++) codes[i] = Math.round(values[at + i] * 255);
      writeAll(fd, codes.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return 'unit8';
}

/** Reads an .npy file written by numpy or encodeNpy (C order, the dtypes above). */
export function readNpy(file: string): { values: NpyArray; shape: number[] } {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not an .npy file`);
  const major = b[6];
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order is not supported`);
  const dtype = DTYPES.find((d) => d.descr === descr || (d.bytes === 1 && descr === '<u1'));
  if (!dtype) throw new Error(`${file}: unsupported dtype ${String(descr)}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, c) => a * c, 1);
  const offset = start + headerLen;
  const copy = new ArrayBuffer(count * dtype.bytes);
  new Uint8Array(copy).set(b.subarray(offset, offset + count * dtype.bytes));
  return { values: new dtype.ctor(copy, 0, count), shape };
}

/** The values of an .npy file as float32: uint8 codes decoded as UNIT8_VALUES (what writeUnitNpy wrote). */
export function readUnitNpy(file: string): { values: Float32Array; shape: number[] } {
  const { values, shape } = readNpy(file);
  if (values instanceof Float32Array) return { values, shape };
  if (!(values instanceof Uint8Array)) throw new Error(`${file}: expected uint8 or float32 unit values`);
  return { values: Float32Array.from(values, (b) => UNIT8_VALUES[b]), shape };
}
