import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { ScenarioError, limitError, readError } from './errors';
import { SCENARIO_LIMITS } from './limits';
import { parseJsonText } from './json-parse';
import { parseYamlText } from './yaml-parse';
import { validateScenario } from './validate';
import type { Scenario } from './types';

export type ScenarioFormat = 'json' | 'yaml';

export interface ParseScenarioOptions {
  /** Names the source in every error message (a path or a label such as `builtin:NAME`). */
  readonly file: string;
  /** Defaults to the format implied by `file`'s extension. */
  readonly format?: ScenarioFormat;
}

/** `.json` → json, `.yaml`/`.yml` → yaml (extension case ignored); anything else is a READ error. */
export function scenarioFormatOf(file: string): ScenarioFormat {
  const ext = nodePath.extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  throw new ScenarioError(
    readError(file, `unsupported file type ${JSON.stringify(ext || '(none)')}: a scenario is .json, .yaml or .yml`),
  );
}

/** Parses and validates scenario text. Throws ScenarioError only. */
export function parseScenario(text: string, options: ParseScenarioOptions): Scenario {
  const { file } = options;
  const format = options.format ?? scenarioFormatOf(file);
  if (text.length > SCENARIO_LIMITS.maxFileBytes) {
    throw new ScenarioError(limitError(file, undefined, `larger than ${SCENARIO_LIMITS.maxFileBytes} bytes`));
  }
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const raw = format === 'json' ? parseJsonText(body, file) : parseYamlText(body, file);
  return validateScenario(raw, file);
}

/**
 * Reads, parses and validates a scenario file (synchronously). `path` is used as given in messages.
 * Only regular files are read, and at most SCENARIO_LIMITS.maxFileBytes of them, so a FIFO or a
 * device cannot make this block or grow without bound.
 */
export function loadScenarioFile(path: string, options: { readonly cwd?: string } = {}): Scenario {
  const format = scenarioFormatOf(path);
  // A relative path is the caller's working folder's (the CLI's io.cwd), never this process's.
  const where = options.cwd === undefined ? path : nodePath.resolve(options.cwd, path);
  let bytes: Buffer;
  let fd: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    fd = fs.openSync(where, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new ScenarioError(readError(path, stat.isDirectory() ? 'is a directory' : 'not a regular file'));
    if (stat.size > SCENARIO_LIMITS.maxFileBytes) {
      throw new ScenarioError(limitError(path, undefined, `larger than ${SCENARIO_LIMITS.maxFileBytes} bytes`));
    }
    // Read to EOF in chunks rather than trusting fstat's size: the file may change under us.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(1 << 20);
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > SCENARIO_LIMITS.maxFileBytes) {
        throw new ScenarioError(limitError(path, undefined, `larger than ${SCENARIO_LIMITS.maxFileBytes} bytes`));
      }
      chunks.push(chunk.subarray(0, n));
    }
    bytes = Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw new ScenarioError(readError(path, `cannot read: ${describeFsError(e)}`), { cause: e });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new ScenarioError(readError(path, 'not valid UTF-8 text'), { cause: e });
  }
  return parseScenario(text, { file: path, format });
}

function describeFsError(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file (ENOENT)';
  if (code === 'EACCES') return 'permission denied (EACCES)';
  return typeof code === 'string' ? code : e instanceof Error ? e.message.split('\n', 1)[0]! : String(e);
}
