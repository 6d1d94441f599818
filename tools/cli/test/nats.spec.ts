import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileEventLog, JetStreamStore, NATS_STREAM, NATS_SUBJECT_PREFIX } from '@mteperm/log';
import { freePort, jetStreamSuitesEnabled, NatsServer } from '@mteperm/log/testing';

// The JetStream commands against the real nats-server (started here: 127.0.0.1, free port,
// JetStream in a temporary folder), through the built binary as a user runs it.
jest.setTimeout(120_000);

const BIN = join(__dirname, '..', 'bin', 'mteperm.js');
let server: NatsServer;
let cwd: string;

const ENABLED = jetStreamSuitesEnabled();
const suite = ENABLED ? describe : describe.skip;

if (ENABLED) beforeAll(async () => {
  server = await NatsServer.start();
  cwd = mkdtempSync(join(tmpdir(), 'mteperm-cli-nats-'));
});
if (ENABLED) afterAll(async () => {
  await server?.dispose();
  if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
});

function mteperm(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, MTEPERM_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// Async spawn for commands that talk to the server while this process also holds a connection.
function mtepermAsync(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, MTEPERM_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function expectOneLine(stderr: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

/** Records a built-in both ways: to a file and to JetStream; returns the run id and both JSON results. */
function recordBoth(name: string, runId?: string): { runId: string; file: Record<string, any>; nats: Record<string, any> } {
  const f = mteperm('run', `builtin:${name}`, '--json', '--log', `${name}.mtelog`);
  const n = mteperm('run', `builtin:${name}`, '--json', '--log', runId === undefined ? server.url : `${server.url}/${runId}`);
  expect(n.stderr).toBe('');
  expect([f.code, n.code]).toEqual([0, 0]);
  const nats = JSON.parse(n.stdout);
  return { runId: nats.log.run_id, file: JSON.parse(f.stdout), nats };
}

suite('mteperm run --log nats://HOST:PORT', () => {
  it('records to JetStream: the run id is printed and in the JSON; the result and digest equal the file run', () => {
    const { runId, file, nats } = recordBoth('vfio-passthrough-mte');
    expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(nats.log).toEqual({ path: `${server.url}/${runId}`, events: file.log.events, sha256: file.log.sha256, run_id: runId });
    expect({ ...nats, log: null }).toEqual({ ...file, log: null });
    const human = mteperm('run', 'builtin:vfio-passthrough-mte', '--log', `${server.url}/named-run`);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`log: ${server.url}/named-run (24 events, sha256 ${file.log.sha256})`);
    expect(human.stdout.endsWith('run id: named-run\n')).toBe(true);
    // A recorded run is never appended to.
    const again = mteperm('run', 'builtin:vfio-passthrough-mte', '--log', `${server.url}/named-run`);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`mteperm: ${server.url}/named-run: run already recorded (a recorded run is never appended to)\n`);
  });

  it('replay and inspect give byte-identical output from either backend (the location aside)', () => {
    const { runId } = recordBoth('virtiofs-dax');
    const url = `${server.url}/${runId}`;
    for (const args of [['replay', '--json'], ['replay'], ['replay', '--policy', 'tag-alloc-retry'], ['replay', '--json', '--policy', 'inject-sea'], ['inspect', '--json'], ['inspect']]) {
      const [cmd, ...rest] = args;
      const f = mteperm(cmd!, 'virtiofs-dax.mtelog', ...rest);
      const n = mteperm(cmd!, url, ...rest);
      expect([f.code, n.code, n.stderr]).toEqual([0, 0, '']);
      expect(n.stdout.split(url).join('virtiofs-dax.mtelog')).toBe(f.stdout);
    }
    expect(JSON.parse(mteperm('replay', url, '--json').stdout)).toMatchObject({ log: url, events: 32, state: { matches: true }, damage: null });
  });

  it('export copies a JetStream run to the very .mtelog file run writes, and a file to a new run', () => {
    const { runId, file } = recordBoth('wb-device-memory');
    const out = mteperm('export', `${server.url}/${runId}`, 'copy.mtelog', '--json');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ from: `${server.url}/${runId}`, to: 'copy.mtelog', events: file.log.events, sha256: file.log.sha256 });
    expect(readFileSync(join(cwd, 'copy.mtelog')).equals(readFileSync(join(cwd, 'wb-device-memory.mtelog')))).toBe(true);

    const back = mteperm('export', 'wb-device-memory.mtelog', `${server.url}/imported`);
    expect(back).toEqual({ code: 0, stderr: '', stdout: `wb-device-memory.mtelog -> ${server.url}/imported: ${file.log.events} events, sha256 ${file.log.sha256}\n` });
    expect(mteperm('replay', `${server.url}/imported`).stdout.split(`${server.url}/imported`).join('x')).toBe(mteperm('replay', 'wb-device-memory.mtelog').stdout.split('wb-device-memory.mtelog').join('x'));
  });

  it('an unfinished file (cut on a record boundary) is never exported, so no run made from it is listed complete (issue 21 item 2)', () => {
    recordBoth('virtio-pmem');
    const bytes = readFileSync(join(cwd, 'virtio-pmem.mtelog'));
    writeFileSync(join(cwd, 'unfinished.mtelog'), bytes.subarray(0, bytes.length - 45)); // the end mark gone
    const r = mteperm('export', 'unfinished.mtelog', `${server.url}/from-unfinished`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MTEPERM_LOG_UNFINISHED) (nothing exported)');
    expectOneLine(r.stderr);
    const list = JSON.parse(mteperm('runs', server.url, '--json').stdout) as Array<{ run_id: string; complete: boolean }>;
    expect(list.find((x) => x.run_id === 'from-unfinished')).toBeUndefined();
  });

  it('runs lists the recorded runs with scenario, kernel, events and state', () => {
    const { runId } = recordBoth('virtio-pmem');
    const r = mteperm('runs', server.url, '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list.find((x: { run_id: string }) => x.run_id === runId)).toEqual({
      run_id: runId,
      log: `${server.url}/${runId}`,
      scenario: 'virtio-pmem',
      kernel: 'v2',
      events: JSON.parse(mteperm('replay', `${server.url}/${runId}`, '--json').stdout).events,
      segments: 1,
      complete: true,
      producer: 'mteperm 0.1.0',
      schema_version: 2,
    });
    expect(mteperm('runs', server.url).stdout).toMatch(new RegExp(`^${runId} +virtio-pmem +v2 +\\d+ +complete$`, 'm'));
  });
});

suite('mteperm replay nats://HOST:PORT --all (fleet re-decide)', () => {
  it('gives the totals of replaying each run alone, over N workers', async () => {
    for (const name of ['lazy-tag-storage', 'dirty-log-relax', 'heterogeneous-host', 'nested-guest-hypervisor']) recordBoth(name);
    const runs: Array<{ run_id: string }> = JSON.parse(mteperm('runs', server.url, '--json').stdout);
    expect(runs.length).toBeGreaterThanOrEqual(8);
    const fleet = await mtepermAsync('replay', server.url, '--all', '--policy', 'tag-alloc-retry', '--workers', '3', '--json');
    expect(fleet.stderr).toBe('');
    expect(fleet.code).toBe(0);
    const doc = JSON.parse(fleet.stdout);
    expect(doc.runs).toBe(runs.length);
    expect(doc.per_run.map((r: { run_id: string }) => r.run_id)).toEqual(runs.map((r) => r.run_id));
    const alone = runs.map((r) => JSON.parse(mteperm('replay', `${server.url}/${r.run_id}`, '--policy', 'tag-alloc-retry', '--json').stdout).totals);
    expect(doc.per_run.map((r: { totals: unknown }) => r.totals)).toEqual(alone);
    const sum = (k: string, side: 'recorded' | 'redecided') => alone.reduce((n, t) => n + t[side][k], 0);
    expect(doc.totals.recorded.faults).toBe(sum('faults', 'recorded'));
    expect(doc.totals.redecided.exits).toBe(sum('exits', 'redecided'));
    expect(doc.totals.redecided.retried).toBe(sum('retried', 'redecided'));
    expect(doc.totals.exits_avoided).toBe(Math.max(0, sum('exits', 'recorded') - sum('exits', 'redecided')));
    expect(doc.totals.changed).toBe(alone.reduce((n, t) => n + t.changed, 0));
    expect(doc.totals.recorded.faults).toBeGreaterThan(0);
    // --sandbox: the same policy as a file, each worker's copy in its own sandboxed process (README "Plugin isolation").
    writeFileSync(join(cwd, 'retry.cjs'), "module.exports = { name: 'retry', version: '1', decide: (f, ctx) => ({ kind: ctx.tagStorage.canAllocate() ? 'allocate-tags-and-retry' : 'pass' }) };\n");
    const plain = await mtepermAsync('replay', server.url, '--all', '--policy', './retry.cjs', '--workers', '2', '--json');
    const boxed = await mtepermAsync('replay', server.url, '--all', '--policy', './retry.cjs', '--workers', '2', '--json', '--sandbox');
    expect([plain.code, boxed.code, boxed.stderr]).toEqual([0, 0, '']);
    expect(JSON.parse(boxed.stdout).totals).toEqual(JSON.parse(plain.stdout).totals);
  });
});

suite('faults', () => {
  it('an unreachable server: one line and exit 3 within the connect bound', async () => {
    const port = await freePort();
    for (const args of [['replay', `nats://127.0.0.1:${port}/x`], ['run', 'builtin:virtio-pmem', '--log', `nats://127.0.0.1:${port}`], ['runs', `nats://127.0.0.1:${port}`]]) {
      const t0 = Date.now();
      const r = mteperm(...args);
      expect(r.code).toBe(3);
      expectOneLine(r.stderr);
      expect(r.stderr).toBe(`mteperm: nats://127.0.0.1:${port}: cannot reach the NATS server within 5 s (connect ECONNREFUSED 127.0.0.1:${port})\n`);
      expect(Date.now() - t0).toBeLessThan(6000);
    }
  });

  it('a missing run or a bad location is bad input: one line, exit 2', () => {
    const missing = mteperm('replay', `${server.url}/nope`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`mteperm: ${server.url}/nope: no such run on this server (try: mteperm runs ${server.url})\n`);
    const bad = mteperm('inspect', `${server.url}/a.b`);
    expect(bad.code).toBe(2);
    expectOneLine(bad.stderr);
  });

  it('a gap and a foreign message are reported with the stream seq, exit 2, never replayed silently', async () => {
    mteperm('run', 'builtin:nested-guest-hypervisor', '--log', 'n.mtelog');
    const store = await JetStreamStore.connect(server.hostPort);
    try {
      // Re-record the file's events in small segments so the run has several messages.
      const src = FileEventLog.open(join(cwd, 'n.mtelog'));
      const run = await store.create(src.header, { segmentEvents: 8 });
      for await (const r of src.read()) run.append(r.bytes);
      await run.close();
      await src.close();
      const first = await store.jsm.streams.getMessage(NATS_STREAM, { seq: 0, next_by_subj: run.subject } as never);
      const second = await store.jsm.streams.getMessage(NATS_STREAM, { seq: first!.seq + 1, next_by_subj: run.subject } as never);
      const third = await store.jsm.streams.getMessage(NATS_STREAM, { seq: second!.seq + 1, next_by_subj: run.subject } as never);
      await store.jsm.streams.deleteMessage(NATS_STREAM, second!.seq);
      const r = await mtepermAsync('replay', run.location, '--json');
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ events: 8, damage: { offset: third!.seq, unit: 'stream seq', code: 'MTEPERM_LOG_NATS_GAP' } });
      expect(r.stderr).toBe(`mteperm: ${run.location}: stream seq ${third!.seq}: segment starts at event seq 17 where 9 was expected: events 9..16 are missing (the 8 events before it were replayed)\n`);

      const whole = recordBoth('migrate-no-mte-perm');
      const foreign = await store.js.publish(NATS_SUBJECT_PREFIX + whole.runId, 'not a segment');
      const f = await mtepermAsync('replay', `${server.url}/${whole.runId}`, '--policy', 'tag-alloc-retry');
      expect(f.code).toBe(2);
      expect(f.stderr).toBe(`mteperm: ${server.url}/${whole.runId}: stream seq ${foreign.seq}: message after the run's end mark (only the readable prefix was re-decided)\n`);
      const ex = await mtepermAsync('export', `${server.url}/${whole.runId}`, 'f.mtelog');
      expect(ex.code).toBe(2);
      expect(() => readFileSync(join(cwd, 'f.mtelog'))).toThrow();
    } finally {
      await store.close();
    }
  });
});
