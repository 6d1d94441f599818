/** Where a command writes and which folder it works in; tests pass their own. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WriteStream;
  readonly cwd: string;
  /** Set by a command that finished but must exit non-zero (expect failed, damaged log). */
  exitCode?: number;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
}
