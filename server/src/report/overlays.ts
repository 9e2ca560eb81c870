/**
 * Overlay images for the report, embedded as data: URIs so the report is one
 * self-contained file. The paths come from the run directory's overlay index,
 * which is not trusted: only PNG files inside the run directory are read, so a
 * doctored index cannot smuggle other files of the machine into a shared report.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isInside } from '../dsl/files';

export interface EmbeddedImage {
  dataUri: string;
  width: number;
  height: number;
}

/** Overlays are small (a few panels of a preview image); anything bigger is not one. */
const MAX_PNG_BYTES = 8 * 1024 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The PNG at `relPath` in `runDir` as a data: URI with its size, or undefined when it is missing, outside the run, or not a PNG. */
export function embedPng(runDir: string, relPath: unknown): EmbeddedImage | undefined {
  if (typeof relPath !== 'string' || relPath === '' || path.isAbsolute(relPath)) return undefined;
  const file = path.resolve(runDir, relPath);
  if (!isInside(path.resolve(runDir), file)) return undefined;
  let data: Buffer;
  try {
    const real = fs.realpathSync(file);
    // a symbolic link out of the run directory is the same escape
    if (!isInside(fs.realpathSync(runDir), real)) return undefined;
    if (fs.statSync(real).size > MAX_PNG_BYTES) return undefined;
    data = fs.readFileSync(real);
  } catch {
    return undefined;
  }
  if (data.length < 24 || !data.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined;
  // IHDR is the first chunk: width and height at bytes 16..23
  return { dataUri: `data:image/png;base64,${data.toString('base64')}`, width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}
