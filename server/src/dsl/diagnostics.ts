/**
 * Diagnostics produced by the parser and the validator.
 *
 * One shape for both so the CLI, the language server and the tests all report
 * the same thing. `code` is stable (documented in docs/dsl.md) so users can look
 * errors up; `fixes` carries the edits a quick fix applies, computed where the
 * problem is understood best (the validator), not re-derived in the LSP layer.
 */

export type Severity = 'error' | 'warning' | 'info';

export interface TextEdit {
  start: number;
  end: number;
  newText: string;
}

export interface Fix {
  title: string;
  edits: TextEdit[];
  /** The fix a user most likely wants (VS Code's "preferred" quick fix). */
  preferred?: boolean;
}

export interface Diagnostic {
  start: number;
  end: number;
  severity: Severity;
  message: string;
  code: DiagnosticCode;
  fixes?: Fix[];
}

/** Every diagnostic code, in one place, so docs and tests can enumerate them. */
export const DIAGNOSTIC_CODES = {
  // syntax
  'syntax': 'The text does not follow the grammar.',
  'unterminated-string': 'A string is missing its closing quote.',
  'unclosed-block': 'A `{` has no matching `}`.',
  'unexpected-character': 'A character that has no meaning in the language.',
  // structure
  'unknown-key': 'A key that does not exist in this block.',
  'unknown-block': 'A nested block that does not exist here.',
  'duplicate-key': 'The same key set twice in one block.',
  'duplicate-experiment': 'Two experiments with the same name in one file.',
  'missing-key': 'A required key is not set (neither here nor in an experiment this one extends).',
  'not-a-block': 'A key that takes a value was written as a block, or the reverse.',
  // values
  'wrong-type': 'A value of the wrong type.',
  'unknown-value': 'A word that is not one of the allowed values.',
  'out-of-range': 'A number outside the allowed range.',
  'bad-unit': 'A number with a unit this key does not accept.',
  'bad-arguments': 'A call with the wrong arguments.',
  'duplicate-item': 'The same item twice in a list that must not repeat.',
  // extends
  'unknown-extends': '`extends` names an experiment that does not exist.',
  'cyclic-extends': 'Experiments extend each other in a cycle.',
  // cross-key rules
  'not-applicable': 'A key that has no effect with the other settings (e.g. `alpha` without `loss = cyborg`).',
  'incompatible': 'Two settings that cannot be combined.',
  'engine-unavailable': 'The experiment trains on the torch engine, but no Python here imports PyTorch (a warning: the file may be run elsewhere).',
  // files and data
  'path-not-found': 'A file or folder that does not exist.',
  'path-outside-workspace': 'A path that leads outside the workspace folder.',
  'no-images': 'A data folder with no images in it.',
  'no-labels': 'A data folder whose labels cannot be found.',
  'annotation-coverage': 'Fewer images have a human saliency map than `annotated` asks for.',
  'bad-boxes': 'A problem in the boxes file (`boxes = "boxes.json"`): not JSON, a malformed box, an unknown image or label, a box outside its image.',
  'unknown-builtin': 'A built-in data set that does not exist.',
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;
