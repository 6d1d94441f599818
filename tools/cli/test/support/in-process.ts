import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CliIo } from '../../src/io';
import { main } from '../../src/main';

/** What one CLI invocation gave: its exit status and everything it wrote. */
export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** A stream that keeps what is written (no terminal: the progress bar stays off, as when piped). */
function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = {
    isTTY: false,
    write(chunk: string | Uint8Array): boolean {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    },
  };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

/**
 * `mteperm ...args` in this process: `main(argv, io)` with an io that carries the working folder and
 * keeps the output, so no case depends on process.cwd(), process.exitCode or another case's state.
 * What only the real binary can show (the bin script, EPIPE, a terminal, npx) is in binary.spec.ts.
 */
export async function mteperm(cwd: string, ...args: string[]): Promise<Ran> {
  const out = capture();
  const err = capture();
  const io: CliIo = { stdout: out.stream, stderr: err.stream, cwd };
  const t0 = performance.now();
  const code = await main(['node', 'mteperm', ...args], io);
  return { code, stdout: out.text(), stderr: err.text(), ms: Math.round(performance.now() - t0) };
}

/** The real binary (tools/cli/bin/mteperm.js → dist), as a user runs it. */
export const BIN = join(__dirname, '..', '..', 'bin', 'mteperm.js');

export function spawnMteperm(cwd: string, args: readonly string[], options: { timeoutMs?: number } = {}): Ran & { signal: NodeJS.Signals | null } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 1 << 30,
    env: { ...process.env, MTEPERM_DEBUG: '' },
  });
  return { code: r.status ?? -1, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Math.round(performance.now() - t0) };
}

/** One line, no stack trace: what CONTRACT §2 promises for bad input. */
export function expectOneLine(stderr: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}
