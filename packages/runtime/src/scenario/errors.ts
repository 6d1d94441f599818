/** Stable string codes of scenario loading; the CLI maps every one of them to exit status 2. */
export type ScenarioErrorCode =
  | 'MTEPERM_SCENARIO_READ' // the file cannot be read: missing, not a regular file, bad extension, not UTF-8
  | 'MTEPERM_SCENARIO_SYNTAX' // not well-formed JSON/YAML (duplicate keys, tags and extra documents included)
  | 'MTEPERM_SCENARIO_FIELD' // well-formed, but a field is missing, unknown, of the wrong type or out of range
  | 'MTEPERM_SCENARIO_LIMIT'; // a bound of SCENARIO_LIMITS was exceeded

/** Where an error is: `field` for validation errors, `line`/`column` (1-based) for syntax errors. */
export interface ScenarioErrorWhere {
  readonly file: string;
  readonly field?: string;
  readonly line?: number;
  readonly column?: number;
}

export interface ScenarioErrorInfo extends ScenarioErrorWhere {
  readonly code: ScenarioErrorCode;
  readonly message: string;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  readonly code: ScenarioErrorCode;
  readonly file: string;
  readonly field: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(info: ScenarioErrorInfo, options?: { cause?: unknown }) {
    super(info.message, options);
    this.code = info.code;
    this.file = info.file;
    this.field = info.field;
    this.line = info.line;
    this.column = info.column;
  }
}

// The message must stay one line whatever a file name, key or value contains: control characters and
// the Unicode line/paragraph separators are escaped.
const LINE_BREAKERS = /[\u0000-\u001f\u007f\u2028\u2029]/g;
export function oneLine(text: string): string {
  return text.replace(LINE_BREAKERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `<file>: <problem>` — for errors about the file as a whole. */
export function readError(file: string, problem: string): ScenarioErrorInfo {
  return { code: 'MTEPERM_SCENARIO_READ', message: oneLine(`${file}: ${problem}`), file };
}

/** `<file>:<line>:<col>: <problem>`, or `<file>: <problem>` when the parser gave no position. */
export function syntaxError(
  file: string,
  pos: { line: number; column: number } | undefined,
  problem: string,
): ScenarioErrorInfo {
  const at = pos ? `${file}:${pos.line}:${pos.column}` : file;
  return { code: 'MTEPERM_SCENARIO_SYNTAX', message: oneLine(`${at}: ${problem}`), file, ...pos };
}

/** `<file>: <field>: <problem>`. */
export function fieldError(file: string, field: string, problem: string): ScenarioErrorInfo {
  return { code: 'MTEPERM_SCENARIO_FIELD', message: oneLine(`${file}: ${field}: ${problem}`), file, field };
}

/** Placed by field, by position, or on the whole file, whichever the check knows. */
export function limitError(
  file: string,
  where: { field: string } | { line: number; column: number } | undefined,
  problem: string,
): ScenarioErrorInfo {
  const at =
    where === undefined ? `${file}` : 'field' in where ? `${file}: ${where.field}` : `${file}:${where.line}:${where.column}`;
  return { code: 'MTEPERM_SCENARIO_LIMIT', message: oneLine(`${at}: ${problem}`), file, ...where };
}
