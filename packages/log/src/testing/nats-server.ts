import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The real nats-server (Debian's package, 2.9.x) for tests and the bench: 127.0.0.1, a free port, JetStream in
 * a temporary folder, stopped afterwards. No mock server. Under CI the JetStream suites always run
 * (.ci/run installs the server, and a skipped backend would pass CI untested); on a developer's
 * machine without the binary they are skipped with a one-line notice, so `npm ci && npm test`
 * works on a fresh machine.
 */
export const NATS_SERVER_MISSING =
  'nats-server is not installed: the JetStream tests need the real server (apt-get install -y nats-server; .ci/run installs it)';

/** Whether the JetStream suites run here: always under CI (CI=true), else when nats-server is installed. */
export function jetStreamSuitesEnabled(): boolean {
  if (process.env['CI'] === 'true') return true;
  const r = spawnSync(process.env['NATS_SERVER'] ?? 'nats-server', ['--version'], { encoding: 'utf8' });
  if (r.error === undefined && r.status === 0) return true;
  process.stderr.write(`JetStream suites skipped: ${NATS_SERVER_MISSING}\n`);
  return false;
}

export function natsServerBinary(): string {
  const bin = process.env['NATS_SERVER'] ?? 'nats-server';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) throw new Error(NATS_SERVER_MISSING);
  return bin;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class NatsServer {
  private proc: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly bin: string,
    readonly port: number,
    readonly storeDir: string,
  ) {}

  /** `HOST:PORT` and the `nats://` URL of the server. */
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `nats://${this.hostPort}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  static async start(): Promise<NatsServer> {
    const bin = natsServerBinary();
    const server = new NatsServer(bin, await freePort(), mkdtempSync(join(tmpdir(), 'mteperm-nats-')));
    await server.launch();
    return server;
  }

  /** Starts the process (again, after stop(): same port, same store, so streams survive). */
  async launch(): Promise<void> {
    if (this.proc !== undefined) throw new Error('nats-server is already running');
    this.output = '';
    const proc = spawn(this.bin, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${this.output}`)), 10_000);
      const onData = (b: Buffer): void => {
        this.output += b.toString();
        if (this.output.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}) before it was ready:\n${this.output}`));
      });
    });
  }

  /** Stops the process (SIGTERM: a clean shutdown, as an operator's restart does) and waits for it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (proc === undefined) return;
    this.proc = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  }

  /** Stops the server and removes its store. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
