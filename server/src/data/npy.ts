/**
 * NumPy `.npy` files (format version 1.0), written and read without numpy: the torch
 * engine memory-maps the data sets the Node side exports (data/export.ts), and the
 * conformance tests exchange tensors with Python the same way.
 *
 * Layout: `\x93NUMPY`, version 1.0, a little-endian uint16 header length, the header (a
 * Python dict literal: dtype, C order, shape) padded with spaces to a 64-byte boundary and
 * ended by `\n`, then the values, little-endian, row-major.
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

/** The bytes of an .npy file holding `values` with `shape` (the product must equal the length). */
export function encodeNpy(values: NpyArray, shape: readonly number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== values.length) throw new RangeError(`npy: shape ${shape.join('×')} holds ${count} values, got ${values.length}`);
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descrOf(values)}', 'fortran_order': False, 'shape': ${dims}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  // typed arrays are in the host's byte order; every platform Node runs on is little-endian
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

export function writeNpy(file: string, values: NpyArray, shape: readonly number[]): void {
  fs.writeFileSync(file, encodeNpy(values, shape));
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
