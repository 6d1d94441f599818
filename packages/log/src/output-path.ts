import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Codes of an output refusal. `MTEPERM_OUTPUT_PATH`: the target is not somewhere a file may be
 * written (a device, FIFO, socket, folder, empty path, missing folder): bad input, nothing touched.
 * `MTEPERM_OUTPUT_WRITE`: the operating system refused a write, fsync or rename (ENOSPC, EIO,
 * EACCES, EROFS): an infrastructure failure; the temporary file is gone and the target is as it was.
 */
export type OutputErrorCode = 'MTEPERM_OUTPUT_PATH' | 'MTEPERM_OUTPUT_WRITE';

export class OutputError extends Error {
  override readonly name = 'OutputError';
  constructor(
    readonly code: OutputErrorCode,
    /** The target as the caller named it. */
    readonly file: string,
    message: string,
    /** The operating system's error code (ENOSPC, EIO, ...) when it refused. */
    readonly errno?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface OutputPathOptions {
  /** What asked for the file, e.g. `--log`, `--svg`, `export`: the message starts with it. */
  readonly label?: string;
  /** A relative `file` is resolved from here (default: the process's working folder). */
  readonly cwd?: string;
}

function named(file: string, options: OutputPathOptions): string {
  return `${options.label === undefined ? '' : `${options.label} `}${JSON.stringify(file)}`;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Refuses (throws OutputError `MTEPERM_OUTPUT_PATH`) an output target that is neither a regular
 * file nor a new path in an existing folder, so that writing there can only create or replace a
 * regular file: `/dev/null`, `/dev/full`, a FIFO, a folder or `''` are never replaced. Returns the
 * absolute path to write. Called by the log writer and by every CLI option that writes a file
 * (`--log`, `--svg`, `export`, `view -o`) before any work is done.
 */
export function checkOutputPath(file: string, options: OutputPathOptions = {}): string {
  if (file === '') throw new OutputError('MTEPERM_OUTPUT_PATH', file, `${named(file, options)}: an empty path names no file`);
  const abs = path.resolve(options.cwd ?? process.cwd(), file);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new OutputError('MTEPERM_OUTPUT_PATH', file, `${named(file, options)}: cannot use this path (${code ?? (e as Error).message})`, code, { cause: e });
  }
  if (st !== undefined) {
    if (st.isFile()) return abs;
    throw new OutputError('MTEPERM_OUTPUT_PATH', file, `${named(file, options)} is ${kindOf(st)}: only a regular file or a new path is written (nothing changed)`);
  }
  const dir = path.dirname(abs);
  let dst: fs.Stats;
  try {
    dst = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OutputError('MTEPERM_OUTPUT_PATH', file, `${named(file, options)}: its folder ${dir} does not exist${code === undefined || code === 'ENOENT' ? '' : ` (${code})`}`, code, { cause: e });
  }
  if (!dst.isDirectory()) throw new OutputError('MTEPERM_OUTPUT_PATH', file, `${named(file, options)}: ${dir} is not a folder`);
  return abs;
}

/** The one-line form of an operating-system refusal while writing `file`: path and errno. */
export function outputWriteError(file: string, what: string, e: unknown, label?: string): OutputError {
  const code = (e as NodeJS.ErrnoException).code;
  const text = (e as Error).message ?? String(e);
  return new OutputError('MTEPERM_OUTPUT_WRITE', file, `${label === undefined ? '' : `${label} `}${file}: cannot ${what}: ${code === undefined || text.startsWith(code) ? text : `${code}: ${text}`}`, code, { cause: e });
}

let tempCounter = 0;

/** A fresh temporary file beside `target` (same folder: the final rename stays on one file system). */
export function openTempBeside(target: string, onError: (e: unknown) => Error): { path: string; fd: number } {
  const dir = path.dirname(target);
  const base = path.basename(target);
  for (;;) {
    const p = path.join(dir, `.${base}.${process.pid}.${tempCounter++}.tmp`);
    try {
      return { path: p, fd: fs.openSync(p, 'wx') };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw onError(e);
    }
  }
}

/**
 * Writes a whole output file (an SVG map, an HTML view): checks the target (checkOutputPath),
 * writes a temporary file beside it, fsyncs and renames it over the target. Any failure removes
 * the temporary file and leaves the target as it was: `MTEPERM_OUTPUT_PATH` (bad target) or
 * `MTEPERM_OUTPUT_WRITE` (the system refused: ENOSPC, EIO, EACCES). Returns the absolute path.
 */
export function writeOutputFile(file: string, data: string | Uint8Array, options: OutputPathOptions = {}): string {
  const abs = checkOutputPath(file, options);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const temp = openTempBeside(abs, (e) => outputWriteError(file, 'create a temporary file beside it', e, options.label));
  let step = 'write';
  try {
    try {
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(temp.fd, bytes, done, bytes.length - done);
      step = 'fsync';
      fs.fsyncSync(temp.fd);
    } finally {
      fs.closeSync(temp.fd);
    }
    step = 'rename its temporary file into place';
    fs.renameSync(temp.path, abs);
  } catch (e) {
    fs.rmSync(temp.path, { force: true });
    throw outputWriteError(file, step, e, options.label);
  }
  return abs;
}
