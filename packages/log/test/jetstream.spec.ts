import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { SCHEMA_VERSION } from '@mteperm/events';
import { headers } from '@nats-io/transport-node';
import { JetStreamStore, NATS_STREAM, NATS_SUBJECT_PREFIX, NatsLogError, newRunId, openJetStreamLog, parseNatsUrl } from '../src/jetstream';
import type { JetStreamEventLog } from '../src/jetstream';
import { SEGMENT_HEADERS } from '../src/segment';
import { freePort, jetStreamSuitesEnabled, NatsServer } from '../src/testing/nats-server';
import { logImage, sampleEnvelopes } from './helpers';

// Against the real nats-server (Debian 2.9.x), started here on a free port with JetStream in a
// temporary folder. Outside CI, a machine without the binary skips these suites with a notice.
jest.setTimeout(60_000);

const HEADER = { profile: 'v2', producer: 'test 1.0' } as const;
let server: NatsServer;
let store: JetStreamStore;

const ENABLED = jetStreamSuitesEnabled();
const suite = ENABLED ? describe : describe.skip;

if (ENABLED) beforeAll(async () => {
  server = await NatsServer.start();
  store = await JetStreamStore.connect(server.hostPort);
});
if (ENABLED) afterAll(async () => {
  await store?.close();
  await server?.dispose();
});

async function record(envs: readonly Uint8Array[], options: Parameters<JetStreamStore['create']>[1] = {}): Promise<string> {
  const log = await store.create(HEADER, options);
  for (const e of envs) log.append(e);
  await log.close();
  return log.runId;
}

async function readAll(log: JetStreamEventLog, from?: bigint): Promise<Array<{ offset: number; seq: number; bytes: Buffer }>> {
  const out = [];
  for await (const r of log.read(from)) out.push({ offset: r.offset, seq: Number(r.seq), bytes: Buffer.from(r.bytes) });
  return out;
}

/** Every message of a run's subject, straight from the stream (stream seq, headers, payload size). */
async function rawMessages(runId: string): Promise<Array<{ seq: number; h: Record<string, string>; size: number }>> {
  const out = [];
  let seq = 0;
  for (;;) {
    const m = await store.jsm.streams.getMessage(NATS_STREAM, { seq: seq + 1, next_by_subj: NATS_SUBJECT_PREFIX + runId } as never);
    if (m === null) return out;
    const h: Record<string, string> = {};
    for (const k of m.header?.keys() ?? []) h[k] = m.header!.get(k);
    out.push({ seq: m.seq, h, size: m.data.length });
    seq = m.seq;
  }
}

suite('JetStream log: one subject per run, segments of framed records', () => {
  it('records 3000 events as segments of at most 1024, header fields and an idempotency id on each', async () => {
    const envs = sampleEnvelopes(3000);
    const runId = await record(envs);
    const msgs = await rawMessages(runId);
    expect(msgs.map((m) => [m.h[SEGMENT_HEADERS.firstSeq], m.h[SEGMENT_HEADERS.count], m.h[SEGMENT_HEADERS.end]])).toEqual([
      ['1', '1024', undefined],
      ['1025', '1024', undefined],
      ['2049', '952', '1'],
    ]);
    expect(msgs.map((m) => m.h['Nats-Msg-Id'])).toEqual([`${runId}:1`, `${runId}:1025`, `${runId}:2049`]);
    expect(msgs[0]!.h).toMatchObject({
      [SEGMENT_HEADERS.run]: runId,
      [SEGMENT_HEADERS.format]: '2',
      [SEGMENT_HEADERS.schema]: String(SCHEMA_VERSION),
      [SEGMENT_HEADERS.profile]: 'v2',
      [SEGMENT_HEADERS.producer]: 'test 1.0',
    });

    const log = await store.open(runId);
    expect(log.header).toEqual({ formatVersion: 2, schemaVersion: SCHEMA_VERSION, ...HEADER });
    const back = await readAll(log);
    expect(log.damage).toBeUndefined();
    expect(back.length).toBe(3000);
    expect(back.every((r, i) => r.seq === i + 1 && r.bytes.equals(Buffer.from(envs[i]!)))).toBe(true);
    // Offsets are those the exported .mtelog file has.
    const image = logImage(envs, { schemaVersion: SCHEMA_VERSION, ...HEADER });
    expect(back.map((r) => r.offset)).toEqual(image.bounds.map((b) => b.start));
    expect((await readAll(log, 2990n)).map((r) => r.seq)).toEqual([2990, 2991, 2992, 2993, 2994, 2995, 2996, 2997, 2998, 2999, 3000]);
    const decoded = [];
    for await (const e of log.envelopes(2999n)) decoded.push(e.seq);
    expect(decoded).toEqual([2999n, 3000n]);
  });

  it('bounds a segment by bytes too', async () => {
    const envs = sampleEnvelopes(400);
    const runId = await record(envs, { segmentBytes: 2048 });
    const msgs = await rawMessages(runId);
    expect(msgs.length).toBeGreaterThan(5);
    expect(Math.max(...msgs.map((m) => m.size))).toBeLessThanOrEqual(2048);
    const counts = msgs.reduce((n, m) => n + Number(m.h[SEGMENT_HEADERS.count]), 0);
    expect(counts).toBe(400);
    expect((await readAll(await store.open(runId))).length).toBe(400);
  });

  it('a retried publish of a stored segment is dropped as a duplicate (Nats-Msg-Id)', async () => {
    const envs = sampleEnvelopes(30);
    const runId = await record(envs, { segmentEvents: 10 });
    const before = await rawMessages(runId);
    const m = await store.jsm.streams.getMessage(NATS_STREAM, { seq: before[1]!.seq });
    const ack = await store.js.publish(NATS_SUBJECT_PREFIX + runId, m!.data, { msgID: `${runId}:11`, headers: m!.header });
    expect(ack).toMatchObject({ duplicate: true, seq: before[1]!.seq });
    expect((await rawMessages(runId)).length).toBe(before.length);
    const log = await store.open(runId);
    expect((await readAll(log)).map((r) => r.seq)).toEqual(envs.map((_, i) => i + 1));
    expect(log.damage).toBeUndefined();
  });

  it('lists runs with their events, completeness and header fields', async () => {
    const done = await record(sampleEnvelopes(5));
    const open = await store.create(HEADER);
    for (const e of sampleEnvelopes(7)) open.append(e);
    await open.flush();
    const runs = await store.runs();
    expect(runs.find((r) => r.runId === done)).toMatchObject({ events: 5, complete: true, segments: 1, profile: 'v2', producer: 'test 1.0', schemaVersion: SCHEMA_VERSION, location: `${server.url}/${done}` });
    expect(runs.find((r) => r.runId === open.runId)).toMatchObject({ events: 7, complete: false, segments: 1 });
    expect(runs.map((r) => r.runId)).toEqual([...runs.map((r) => r.runId)].sort());
    await open.abort();
  });

  it('refuses to create a run id that is taken, to open a missing one, and a dense-seq violation', async () => {
    const runId = await record(sampleEnvelopes(2));
    await expect(store.create(HEADER, { runId })).rejects.toMatchObject({ code: 'MTEPERM_LOG_NATS_EXISTS' });
    await expect(store.open('no-such-run')).rejects.toMatchObject({ code: 'MTEPERM_LOG_NATS_NO_RUN', message: `${server.url}/no-such-run: no such run on this server (try: mteperm runs ${server.url})` });
    const log = await store.create(HEADER);
    expect(() => log.append(sampleEnvelopes(2)[1]!)).toThrow('record has seq 2 where 1 was expected');
    await log.abort();
  });
});

suite('JetStream log: damage is reported with the stream seq, never replayed silently', () => {
  it('a gap (a deleted segment) stops the replay at the next segment and names its stream seq', async () => {
    const runId = await record(sampleEnvelopes(60), { segmentEvents: 10 });
    const msgs = await rawMessages(runId);
    await store.jsm.streams.deleteMessage(NATS_STREAM, msgs[2]!.seq);
    const log = await store.open(runId);
    expect((await readAll(log)).length).toBe(20);
    expect(log.damage).toMatchObject({
      code: 'MTEPERM_LOG_NATS_GAP',
      offset: msgs[3]!.seq,
      unit: 'stream seq',
      message: `${server.url}/${runId}: stream seq ${msgs[3]!.seq}: segment starts at event seq 31 where 21 was expected: events 21..30 are missing`,
    });
  });

  it('a foreign message on the run subject is reported, and the writer refuses to append after it', async () => {
    const log = await store.create(HEADER, { segmentEvents: 10 });
    const envs = sampleEnvelopes(30);
    for (const e of envs.slice(0, 20)) log.append(e);
    await log.flush();
    const h = headers();
    h.set('Content-Type', 'text/plain');
    const foreign = await store.js.publish(log.subject, 'hello', { headers: h });
    for (const e of envs.slice(20)) log.append(e);
    await expect(log.close()).rejects.toMatchObject({ code: 'MTEPERM_LOG_NATS_CONFLICT' });
    const r = await store.open(log.runId);
    expect((await readAll(r)).length).toBe(20);
    expect(r.damage).toMatchObject({ code: 'MTEPERM_LOG_NATS_FOREIGN', offset: foreign.seq, reason: "not a segment of this run: no Mteperm-Run header" });
  });

  it('a message after the end mark is foreign; a run without one is unfinished', async () => {
    const runId = await record(sampleEnvelopes(3));
    const extra = await store.js.publish(NATS_SUBJECT_PREFIX + runId, 'late');
    const r = await store.open(runId);
    expect((await readAll(r)).length).toBe(3);
    expect(r.damage).toMatchObject({ code: 'MTEPERM_LOG_NATS_FOREIGN', offset: extra.seq, reason: "message after the run's end mark" });

    const w = await store.create(HEADER);
    for (const e of sampleEnvelopes(4)) w.append(e);
    await w.flush();
    const u = await store.open(w.runId);
    expect((await readAll(u)).length).toBe(4);
    expect(u.damage).toMatchObject({ code: 'MTEPERM_LOG_NATS_UNFINISHED' });
    expect(u.damage!.reason).toContain('no end mark after event seq 4');
    await w.abort();
  });

  it('a corrupted record inside a segment is reported with the segment stream seq and the event seq', async () => {
    const runId = newRunId();
    const envs = sampleEnvelopes(5);
    const good = await store.create(HEADER, { runId });
    for (const e of envs) good.append(e);
    await good.close();
    const [m] = await rawMessages(runId);
    // Re-publish the segment with one flipped byte as a second run (same headers but the run id).
    const stored = await store.jsm.streams.getMessage(NATS_STREAM, { seq: m!.seq });
    const data = Buffer.from(stored!.data);
    data[data.length - 1] = data[data.length - 1]! ^ 0x01;
    const bad = newRunId();
    const h = headers();
    for (const k of stored!.header!.keys()) if (k !== 'Nats-Msg-Id') h.set(k, stored!.header!.get(k));
    h.set(SEGMENT_HEADERS.run, bad);
    const ack = await store.js.publish(NATS_SUBJECT_PREFIX + bad, data, { headers: h });
    const r = await store.open(bad);
    expect((await readAll(r)).length).toBe(4);
    expect(r.damage).toMatchObject({ code: 'MTEPERM_LOG_CRC', offset: ack.seq });
    expect(r.damage!.reason).toMatch(/^record at byte \d+ of the segment \(event seq 5\): record checksum mismatch/);
  });
});

suite('JetStream log: faults', () => {
  it('parses locations and refuses bad ones', () => {
    expect(parseNatsUrl('nats://127.0.0.1:4333/abc-1')).toEqual({ server: '127.0.0.1:4333', runId: 'abc-1' });
    expect(parseNatsUrl('nats://localhost')).toEqual({ server: 'localhost:4222', runId: undefined });
    expect(() => parseNatsUrl('nats://h:1/a.b')).toThrow("run id 'a.b' must be");
    expect(() => parseNatsUrl('http://h:1')).toThrow(NatsLogError);
  });

  it('an unreachable server is one clear error within the connect bound', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(JetStreamStore.connect(`127.0.0.1:${port}`, { connectTimeoutMs: 2000 })).rejects.toMatchObject({ code: 'MTEPERM_LOG_NATS_UNREACHABLE' });
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('a server that accepts but never answers is unreachable after the connect timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((sock) => void sockets.push(sock));
    const port = await new Promise<number>((r) => silent.listen(0, '127.0.0.1', () => r((silent.address() as { port: number }).port)));
    try {
      const t0 = Date.now();
      const err = await JetStreamStore.connect(`127.0.0.1:${port}`, { connectTimeoutMs: 1000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NatsLogError);
      expect((err as NatsLogError).code).toBe('MTEPERM_LOG_NATS_UNREACHABLE');
      expect((err as NatsLogError).message).toMatch(new RegExp(`^nats://127.0.0.1:${port}: cannot reach the NATS server within 1 s`));
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
    }
  });
});

suite('JetStream log: a server restarted mid-run', () => {
  let own: NatsServer;
  beforeAll(async () => {
    own = await NatsServer.start();
  });
  afterAll(async () => {
    await own?.dispose();
  });

  it('resumes publishing after a stop and restart: every event exactly once, in order', async () => {
    const s = await JetStreamStore.connect(own.hostPort, { ackTimeoutMs: 500 });
    try {
      const n = 20_000;
      const envs = sampleEnvelopes(n);
      // Small segments make publishing last long enough to stop the server in the middle of it.
      const log = await s.create(HEADER, { segmentEvents: 5 });
      for (const e of envs) log.append(e);
      const closing = log.close();
      while (log.acknowledgedEvents < 2000) await new Promise((r) => setTimeout(r, 5));
      await own.stop();
      const stoppedAt = log.acknowledgedEvents;
      await new Promise((r) => setTimeout(r, 1000));
      await own.launch();
      await closing;
      expect(stoppedAt).toBeLessThan(n);
      expect(log.retriedPublishes).toBeGreaterThan(0);
      expect(log.acknowledgedEvents).toBe(n);

      const r = await s.open(log.runId);
      const back = await readAll(r);
      expect(r.damage).toBeUndefined();
      expect(back.length).toBe(n);
      expect(back.every((x, i) => x.seq === i + 1 && x.bytes.equals(Buffer.from(envs[i]!)))).toBe(true);
      // n/5 segments and the empty end segment, none stored twice.
      const info = await s.jsm.streams.info(NATS_STREAM, { subjects_filter: log.subject });
      expect(info.state.subjects?.[log.subject]).toBe(n / 5 + 1);
    } finally {
      await s.close();
    }
  });

  it('gives up with MTEPERM_LOG_NATS_UNAVAILABLE when the server stays away past the outage bound', async () => {
    const s = await JetStreamStore.connect(own.hostPort, { ackTimeoutMs: 300, outageTimeoutMs: 1500 });
    try {
      const log = await s.create(HEADER);
      for (const e of sampleEnvelopes(10)) log.append(e);
      await own.stop();
      const t0 = Date.now();
      const err = await log.close().catch((e: unknown) => e);
      expect((err as NatsLogError).code).toBe('MTEPERM_LOG_NATS_UNAVAILABLE');
      // Issue 21 item 11: an outage before the first acknowledgement stored nothing; the message says so (not "events 1..0").
      expect((err as NatsLogError).message).toContain('no event of this run was stored, so the server holds no trace of it');
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      await s.close();
      await own.launch();
    }
  });

  it('opens a run recorded before a restart (the stream is durable)', async () => {
    const s = await JetStreamStore.connect(own.hostPort);
    const runId = newRunId();
    const w = await s.create(HEADER, { runId });
    for (const e of sampleEnvelopes(50)) w.append(e);
    await w.close();
    await s.close();
    await own.stop();
    await own.launch();
    const { store: s2, log } = await openJetStreamLog(`${own.url}/${runId}`);
    try {
      expect((await readAll(log)).length).toBe(50);
      expect(log.damage).toBeUndefined();
    } finally {
      await s2.close();
    }
  });
});
