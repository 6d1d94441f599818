import { main } from '../src/main';
import type { CliIo } from '../src/io';

/** A stream that keeps what is written; `isTTY` says whether it plays a terminal. */
export interface Captured {
  text: string;
  readonly isTTY: boolean;
  write(chunk: string | Uint8Array): boolean;
}

function captured(isTTY: boolean): Captured {
  return {
    text: '',
    isTTY,
    write(chunk) {
      this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    },
  };
}

/** Runs `mteperm ARGS` in this process (main(argv, io)), as the binary would, with captured output. */
export async function mtepermIn(cwd: string, args: readonly string[], options: { tty?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = captured(options.tty === true);
  const stderr = captured(options.tty === true);
  const io: CliIo = { stdout: stdout as unknown as CliIo['stdout'], stderr: stderr as unknown as CliIo['stderr'], cwd };
  const code = await main(['node', 'mteperm', ...args], io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
