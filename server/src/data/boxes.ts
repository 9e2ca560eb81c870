/**
 * Bounding boxes as annotation (`data.annotation = boxes`, docs/dsl.md "boxes.json"):
 * reading `boxes.json` with a line for every entry (the editor and the loader name the line
 * of a bad box), checking it against the data set, and turning boxes into binary masks at
 * the experiment's image size with Rao et al.'s rule.
 *
 * Format: one JSON object mapping an image (its path relative to the images folder, as in
 * labels.csv, or its file name when that is unique) to a list of boxes, each either
 * `[x0, y0, x1, y1]` (no class: it belongs to every label of the image) or
 * `{"box": [x0, y0, x1, y1], "label": "cat"}`. Coordinates are pixels of the ORIGINAL image,
 * x to the right, y down, the end exclusive: the box covers pixels x0 ≤ x < x1, y0 ≤ y < y1,
 * so `0 ≤ x0 < x1 ≤ width` and `0 ≤ y0 < y1 ≤ height`.
 *
 * Rao's rule (their losses.py): for the target class k, M = zeros(H, W) and
 * `M[y0:y1, x0:x1] = 1` for every box of class k (the union). Here M is built directly at
 * the training size S, the way data/folder.ts `toPixels` maps the image: centre-crop to a
 * side = min(W, H) square at (cx, cy) = (floor((W − side)/2), floor((H − side)/2)), then
 * scale by S / side. A box edge e maps to (e − c)·S/side, and a target pixel j is inside
 * the box when its centre j + ½ lies in the scaled half-open interval [a, b): j from
 * ceil(a − ½) to ceil(b − ½) (exclusive). So at S = side the mask is exactly Rao's; a box
 * thinner than one target pixel still covers the pixel its middle falls in; a box wholly in
 * the part the centre crop drops covers nothing (the loader warns).
 */

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** The class the box belongs to; absent: every label of its image. */
  label?: string;
  /** 1-based line of the box in boxes.json. */
  line: number;
}

export interface BoxEntry {
  /** The key as written (an image path relative to the images folder, or a file name). */
  file: string;
  /** 1-based line of the key. */
  line: number;
  boxes: Box[];
}

export interface BoxProblem {
  /** 1-based line and column in boxes.json. */
  line: number;
  column: number;
  message: string;
}

/** A box at the training size: target pixels x0 ≤ x < x1, y0 ≤ y < y1 (integers), of class `cls`. */
export interface PixelBox {
  cls: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

// ---- a JSON reader that keeps offsets -------------------------------------------------

type Node =
  | { kind: 'object'; at: number; entries: { key: string; at: number; value: Node }[] }
  | { kind: 'array'; at: number; items: Node[] }
  | { kind: 'string'; at: number; value: string }
  | { kind: 'number'; at: number; value: number }
  | { kind: 'literal'; at: number; value: boolean | null };

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

/** Strict JSON (RFC 8259) with the offset of every value; nesting capped so hostile input cannot overflow the stack. */
function parseJson(text: string): Node {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const fail = (msg: string): never => {
    throw new JsonSyntaxError(msg, Math.min(i, text.length));
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    while (i < text.length && text[i] !== '"') {
      const ch = text[i];
      if (ch === '\n') fail('a string cannot span lines');
      if (ch === '\\') {
        const m = /^\\(["\\/bfnrt]|u[0-9a-fA-F]{4})/.exec(text.slice(i, i + 6));
        if (!m) fail('bad escape in a string');
        out += JSON.parse(`"${m![0]}"`) as string;
        i += m![0].length;
      } else {
        out += ch;
        i++;
      }
    }
    if (i >= text.length) {
      i = start;
      fail('unterminated string');
    }
    i++;
    return out;
  };
  const value = (depth: number): Node => {
    if (depth > 64) fail('nested too deeply');
    ws();
    const at = i;
    const ch = text[i];
    if (ch === '{') {
      i++;
      const entries: { key: string; at: number; value: Node }[] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', at, entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a "quoted" key');
        const keyAt = i;
        const key = str();
        ws();
        if (text[i] !== ':') fail('expected ":" after the key');
        i++;
        entries.push({ key, at: keyAt, value: value(depth + 1) });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', at, entries };
        }
        fail('expected "," or "}"');
      }
    }
    if (ch === '[') {
      i++;
      const items: Node[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', at, items };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', at, items };
        }
        fail('expected "," or "]"');
      }
    }
    if (ch === '"') return { kind: 'string', at, value: str() };
    const num = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (num) {
      i += num[0].length;
      return { kind: 'number', at, value: Number(num[0]) };
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return { kind: 'literal', at, value: v };
      }
    }
    return fail(i >= text.length ? 'unexpected end of the file' : `unexpected character '${ch}'`);
  };
  const root = value(0);
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return root;
}

/** 1-based line and column of an offset. */
function lineCol(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let k = 0; k < at && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      last = k;
    }
  }
  return { line, column: at - last };
}

const BOX_SHAPE = '[x0, y0, x1, y1] or {"box": [x0, y0, x1, y1], "label": "…"}';

/**
 * Reads boxes.json. Never throws: syntax errors and malformed entries come back as problems
 * (with their line), and every well-formed box as an entry.
 */
export function parseBoxes(text: string): { entries: BoxEntry[]; problems: BoxProblem[] } {
  const entries: BoxEntry[] = [];
  const problems: BoxProblem[] = [];
  const problem = (at: number, message: string) => problems.push({ ...lineCol(text, at), message });
  let root: Node;
  try {
    root = parseJson(text.charCodeAt(0) === 0xfeff ? ' ' + text.slice(1) : text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    problem(e.at, `not valid JSON: ${e.message}`);
    return { entries, problems };
  }
  if (root.kind !== 'object') {
    problem(root.at, `expected a JSON object mapping image files to lists of boxes, e.g. {"img_001.png": [[12, 30, 80, 96]]}`);
    return { entries, problems };
  }
  const seen = new Map<string, number>();
  for (const e of root.entries) {
    const line = lineCol(text, e.at).line;
    if (seen.has(e.key)) {
      problem(e.at, `"${e.key}" is listed twice (first on line ${seen.get(e.key)}): put all its boxes in one list`);
      continue;
    }
    seen.set(e.key, line);
    if (e.value.kind !== 'array') {
      problem(e.value.at, `"${e.key}": expected a list of boxes, each ${BOX_SHAPE}`);
      continue;
    }
    const boxes: Box[] = [];
    for (const item of e.value.items) {
      let coords: Node | undefined = item;
      let label: string | undefined;
      if (item.kind === 'object') {
        coords = undefined;
        let ok = true;
        for (const f of item.entries) {
          if (f.key === 'box') coords = f.value;
          else if (f.key === 'label') {
            if (f.value.kind === 'string' && f.value.value.trim()) label = f.value.value.trim();
            else {
              problem(f.value.at, `"${e.key}": "label" must be a class name (a non-empty string)`);
              ok = false;
            }
          } else {
            problem(f.at, `"${e.key}": unknown field "${f.key}" in a box (a box has "box" and optionally "label")`);
            ok = false;
          }
        }
        if (!ok) continue;
        if (!coords) {
          problem(item.at, `"${e.key}": a box object needs "box": [x0, y0, x1, y1]`);
          continue;
        }
      }
      if (coords.kind !== 'array' || coords.items.length !== 4 || coords.items.some((n) => n.kind !== 'number')) {
        problem(item.at, `"${e.key}": a box is ${BOX_SHAPE} (four numbers, pixels of the original image)`);
        continue;
      }
      const [x0, y0, x1, y1] = coords.items.map((n) => (n as { value: number }).value);
      if (!(x0 < x1 && y0 < y1)) {
        problem(item.at, `"${e.key}": box [${x0}, ${y0}, ${x1}, ${y1}] is empty: it needs x0 < x1 and y0 < y1 (corners top-left, bottom-right; the end is exclusive)`);
        continue;
      }
      if (x0 < 0 || y0 < 0) {
        problem(item.at, `"${e.key}": box [${x0}, ${y0}, ${x1}, ${y1}] starts outside the image (negative coordinate)`);
        continue;
      }
      boxes.push({ x0, y0, x1, y1, ...(label !== undefined ? { label } : {}), line: lineCol(text, item.at).line });
    }
    entries.push({ file: e.key, line, boxes });
  }
  return { entries, problems };
}

/** What boxes.json is checked against. */
export interface BoxContext {
  /** Image paths relative to the images folder. */
  images: readonly string[];
  /** The class names of the data set (undefined: unknown, the label check is skipped). A box of a class its image is not labelled with is fine (another object in the picture): it guides only when that class is the target. */
  classes?: readonly string[];
  /** Width and height of an image in pixels (undefined: not known, the check is skipped). */
  sizeOf?: (file: string) => { width: number; height: number } | undefined;
}

/**
 * Matches the entries to images and checks labels and bounds. Returns the boxes per image
 * (relative path → boxes) and the problems, each on its entry's or box's line.
 */
export function matchBoxes(entries: readonly BoxEntry[], ctx: BoxContext): { byImage: Map<string, Box[]>; problems: BoxProblem[] } {
  const exact = new Set(ctx.images);
  const byName = new Map<string, string[]>();
  for (const f of ctx.images) {
    const name = f.split('/').pop()!;
    byName.set(name, [...(byName.get(name) ?? []), f]);
  }
  const byImage = new Map<string, Box[]>();
  const problems: BoxProblem[] = [];
  const problem = (line: number, message: string) => problems.push({ line, column: 1, message });
  for (const e of entries) {
    let file: string | undefined;
    if (exact.has(e.file)) file = e.file;
    else {
      const candidates = byName.get(e.file) ?? [];
      if (candidates.length === 1) file = candidates[0];
      else if (candidates.length > 1) {
        problem(e.line, `"${e.file}" matches several images (${candidates.slice(0, 3).join(', ')}): use the path relative to the images folder`);
        continue;
      }
    }
    if (!file) {
      problem(e.line, `"${e.file}" is not an image of the data set: keys are image paths relative to the images folder (as in labels.csv); fix the name or remove the entry`);
      continue;
    }
    const size = ctx.sizeOf?.(file);
    const kept: Box[] = [];
    for (const b of e.boxes) {
      if (b.label !== undefined && ctx.classes && !ctx.classes.includes(b.label)) {
        problem(b.line, `"${e.file}": box labelled "${b.label}", which is not a class of the data set (${ctx.classes.map((l) => `"${l}"`).join(', ')}): fix the box's label`);
        continue;
      }
      if (size && (b.x1 > size.width || b.y1 > size.height)) {
        problem(b.line, `"${e.file}": box [${b.x0}, ${b.y0}, ${b.x1}, ${b.y1}] reaches outside the ${size.width}×${size.height} image (x1 ≤ width and y1 ≤ height; coordinates are pixels of the original image)`);
        continue;
      }
      kept.push(b);
    }
    byImage.set(file, [...(byImage.get(file) ?? []), ...kept]);
  }
  return { byImage, problems };
}

/** The centre crop of toPixels: its side and top-left corner in the original image. */
export function centreCrop(width: number, height: number): { side: number; cx: number; cy: number } {
  const side = Math.min(width, height);
  return { side, cx: Math.floor((width - side) / 2), cy: Math.floor((height - side) / 2) };
}

/** [start, end) of the target pixels whose centres lie in the scaled interval of [e0, e1). */
function scaleSpan(e0: number, e1: number, offset: number, side: number, size: number): [number, number] | undefined {
  const a = ((e0 - offset) * size) / side;
  const b = ((e1 - offset) * size) / side;
  if (b <= 0 || a >= size) return undefined; // wholly in the cropped-off part
  let start = Math.max(0, Math.ceil(a - 0.5));
  let end = Math.min(size, Math.ceil(b - 0.5));
  if (end <= start) {
    // thinner than a target pixel: the pixel its middle falls in
    start = Math.min(size - 1, Math.max(0, Math.floor((Math.max(a, 0) + Math.min(b, size)) / 2)));
    end = start + 1;
  }
  return [start, end];
}

/** A box of a width×height image as target pixels at size×size, or undefined when the centre crop drops all of it. */
export function scaleBox(b: { x0: number; y0: number; x1: number; y1: number }, width: number, height: number, size: number, cls: number): PixelBox | undefined {
  const { side, cx, cy } = centreCrop(width, height);
  const xs = scaleSpan(b.x0, b.x1, cx, side, size);
  const ys = scaleSpan(b.y0, b.y1, cy, side, size);
  if (!xs || !ys) return undefined;
  return { cls, x0: xs[0], x1: xs[1], y0: ys[0], y1: ys[1] };
}

/** Rao's rule: out[offset + y·size + x] = 1 inside any box of class `cls` (the union), else untouched (start from zeros). Returns whether any box matched. */
export function fillMask(boxes: readonly PixelBox[], cls: number, size: number, out: Float32Array, offset = 0): boolean {
  let any = false;
  for (const b of boxes) {
    if (b.cls !== cls) continue;
    any = true;
    for (let y = b.y0; y < b.y1; y++) out.fill(1, offset + y * size + b.x0, offset + y * size + b.x1);
  }
  return any;
}
