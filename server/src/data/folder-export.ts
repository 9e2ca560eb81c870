/**
 * The torch export of a `folder(…)` data set, streamed: a data set larger than memory
 * (50,000 photos at 224 px are 7.5 GB of 8-bit RGB, 30 GB as float32 — twice that with the
 * splits) can be exported, with memory bounded by one image plus a few bytes per image.
 *
 * Two passes. The scan (data/run-data.ts planFolderRun → data/folder.ts scanFolder) decodes,
 * resizes and rounds each file to 8-bit codes once and appends them to a scratch file next
 * to the export; its plan (labels, maps, boxes, splits, caps, annotated subset: the rules
 * the in-memory loader uses, not a copy of them) is known only once every file has been
 * seen — the channel count, the classes and the stratified split depend on all of them. The
 * write pass then reads each split's images back from the scratch file in split order and
 * writes them into `<split>-images.npy` / `-saliency.npy` as the in-memory export would
 * (a grey image repeated in each channel of an RGB set, box masks filled from the boxes),
 * summing the training images' channel statistics on the way (data/normalize.ts
 * ChannelSums, the same float64 order). The files are byte-identical to
 * writeExport(loadRunSamples(spec)) (test/data/folder-export.test.ts).
 *
 * Every value is a code b standing for float32(b / 255) — folder images are rounded to
 * 8 bits after resizing, box masks are 0 / 1 — so the pixel arrays are always `unit8`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fillMask } from './boxes';
import type { ExportSource, ExportSplit } from './export';
import { folderSubset, type CodeStore } from './folder';
import type { ImageSet } from './image-set';
import { ChannelSums } from './normalize';
import { npyHeader, UNIT8_VALUES } from './npy';
import { planFolderRun, type DataSpec, type FolderRun } from './run-data';

/** Bytes gathered before each write(2) of an array (about 30 images of 112 px RGB). */
const WRITE_BYTES = 1 << 20;

/** Writes all of `bytes` at `position` (default: the current position). */
function writeAll(fd: number, bytes: Uint8Array, position?: number): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, position === undefined ? null : position + done);
}

function readAll(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error('folder export: the scratch file ended early');
    done += n;
  }
}

/**
 * Writes an uint8 .npy file of `count` records of `recordBytes`, each filled in turn by
 * `fill(i, record)` into a write buffer (so only that buffer is held).
 */
function writeRecords(file: string, shape: number[], count: number, recordBytes: number, fill: (i: number, record: Uint8Array) => void): void {
  const fd = fs.openSync(file, 'w');
  try {
    writeAll(fd, npyHeader('|u1', shape));
    const per = Math.max(1, Math.floor(WRITE_BYTES / Math.max(1, recordBytes)));
    const buffer = new Uint8Array(Math.min(per, Math.max(1, count)) * recordBytes);
    let used = 0;
    for (let i = 0; i < count; i++) {
      fill(i, buffer.subarray(used, used + recordBytes));
      used += recordBytes;
      if (used === buffer.length) {
        writeAll(fd, buffer);
        used = 0;
      }
    }
    if (used) writeAll(fd, buffer.subarray(0, used));
  } finally {
    fs.closeSync(fd);
  }
}

/** A folder run scanned into a scratch file: its plan, and each image's codes read back on demand. */
interface ScratchScan {
  run: FolderRun;
  /** The scratch file's descriptor (open until close). */
  fd: number;
  /** Per scanned image: where its codes are, whether grey, where its map's codes are (-1: none). */
  at: number[];
  gray: boolean[];
  mapAt: number[];
  close(): void;
}

/** Scans a folder run, appending each image's codes (and its map's) to `scratchFile` (removed again on failure). */
function scanToScratch(scratchFile: string, spec: DataSpec, probe?: () => void): ScratchScan {
  const fd = fs.openSync(scratchFile, 'w+');
  const close = () => {
    fs.closeSync(fd);
    fs.rmSync(scratchFile, { force: true });
  };
  const at: number[] = [];
  const mapAt: number[] = [];
  const gray: boolean[] = [];
  let end = 0;
  const append = (bytes: Uint8Array) => {
    writeAll(fd, bytes, end);
    end += bytes.length;
  };
  try {
    const run = planFolderRun(spec, (i, codes, isGray, map) => {
      at[i] = end;
      gray[i] = isGray;
      append(codes);
      mapAt[i] = map ? end : -1;
      if (map) append(map);
      probe?.();
    });
    return { run, fd, at, gray, mapAt, close };
  } catch (e) {
    close();
    throw e;
  }
}

/**
 * Some images of a folder run in memory, read with one scan and a scratch file (in a
 * temporary folder under `scratchDir`) rather than the whole data set in memory: `pick`
 * chooses them from the run's plan (e.g. the CAM probe: the first images of the test split,
 * data/cam-probe.ts). The same ImageSet loadRunSamples builds for those indices.
 */
export function loadFolderImages(spec: DataSpec, pick: (run: FolderRun) => Int32Array, scratchDir = os.tmpdir()): ImageSet {
  const tmp = fs.mkdtempSync(path.join(scratchDir, '.sgt-scan-'));
  try {
    const scan = scanToScratch(path.join(tmp, 'scan.tmp'), spec);
    try {
      const { plan } = scan.run;
      const idx = pick(scan.run);
      const store: CodeStore = { codes: [], gray: [], maps: [] };
      const px = plan.size * plan.size;
      for (const i of idx) {
        store.gray[i] = scan.gray[i];
        store.codes[i] = new Uint8Array(scan.gray[i] ? px : px * 3);
        readAll(scan.fd, store.codes[i], scan.at[i]);
        if (scan.mapAt[i] >= 0) readAll(scan.fd, (store.maps[i] = new Uint8Array(px)), scan.mapAt[i]);
      }
      return folderSubset(plan, store, idx);
    } finally {
      scan.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface FolderExportSource extends ExportSource {
  /** Closes and deletes the scratch file. */
  close(): void;
}

/**
 * Scans a folder data set into a scratch file inside `dir` (which must exist) and returns
 * the export's source, whose writers stream the pixels from it. `probe` (tests) is called
 * after each image scanned and each image written, where the memory in use is the export's
 * steady state.
 */
export function openFolderExport(dir: string, spec: DataSpec, probe?: () => void): FolderExportSource {
  const scan = scanToScratch(path.join(dir, '.scan.tmp'), spec, probe);
  const { run, fd, at, gray, mapAt } = scan;
  const { plan } = run;
  const { size, channels } = plan;
  const px = size * size;
  const sums = new ChannelSums(channels);
  let statisticsDone = false;
  const codes = new Uint8Array(px * 3);
  const values = new Float32Array(px * channels);
  const mask = new Float32Array(px);

  const split = (idx: Int32Array, train: boolean): ExportSplit => {
    const k = plan.classNames.length;
    return {
      count: idx.length,
      labels: Int32Array.from(idx, (i) => plan.labels[i]),
      hasSaliency: Uint8Array.from(idx, (i) => plan.hasSaliency[i]),
      ...(plan.multiLabels ? { multiLabels: Uint8Array.from({ length: idx.length * k }, (_, j) => plan.multiLabels![idx[Math.floor(j / k)] * k + (j % k)]) } : {}),
      ...(plan.boxes ? { boxes: Array.from(idx, (i) => plan.boxes![i]) } : {}),
      writeImages: (file) => {
        writeRecords(file, [idx.length, size, size, channels], idx.length, px * channels, (j, record) => {
          const src = idx[j];
          if (gray[src] && channels === 3) {
            // a grey image in an RGB set: its plane in each channel, as folderSubset does
            const plane = codes.subarray(0, px);
            readAll(fd, plane, at[src]);
            for (let p = 0; p < px; p++) record[3 * p] = record[3 * p + 1] = record[3 * p + 2] = plane[p];
          } else readAll(fd, record, at[src]);
          if (train) {
            for (let p = 0; p < record.length; p++) values[p] = UNIT8_VALUES[record[p]];
            sums.add(values);
          }
          probe?.();
        });
        if (train) statisticsDone = true;
        return 'unit8';
      },
      writeSaliency: (file) => {
        writeRecords(file, [idx.length, size, size], idx.length, px, (j, record) => {
          const src = idx[j];
          record.fill(0);
          if (mapAt[src] >= 0) readAll(fd, record, mapAt[src]);
          if (plan.boxes) {
            // the mask of its label, as folderSubset fills it: 1 (code 255) inside the boxes
            mask.fill(0);
            fillMask(plan.boxes[src], plan.labels[src], size, mask);
            for (let p = 0; p < px; p++) if (mask[p] === 1) record[p] = 255;
          }
        });
        return 'unit8';
      },
      // folder data has no known shortcut: all zeros
      writeShortcut: (file) => writeRecords(file, [idx.length, size, size], idx.length, px, (_, record) => record.fill(0)),
    };
  };

  return {
    train: split(run.train, true),
    val: split(run.val, false),
    test: split(run.test, false),
    size,
    channels,
    classes: plan.classNames.length,
    classNames: plan.classNames,
    ...(plan.multiLabel ? { multiLabel: true } : {}),
    guided: run.guided,
    annotatedCount: run.annotatedCount,
    warnings: plan.warnings,
    statistics: () => {
      if (!statisticsDone) throw new Error('folder export: the statistics are known once the training images are written');
      return sums.statistics();
    },
    close: scan.close,
  };
}
