import type { MsgHdrs } from '@nats-io/transport-node';
import { decodeEnvelope, EventCodecError, MIN_READABLE_SCHEMA_VERSION, SCHEMA_VERSION } from '@mteperm/events';
import type { Envelope } from '@mteperm/events';
import { envelopeSeq } from '../envelope-seq';
import { LogError } from '../errors';
import { DEFAULT_MAX_RECORD_BYTES, KERNEL_PROFILES, LOG_FORMAT_VERSION, MIN_READABLE_FORMAT_VERSION } from '../format';
import type { KernelProfile, LogHeader } from '../format';
import { framedLength, frameRecord } from '../framing';
import { logHeaderBytes } from '../log-digest';
import { parseSegment, SEGMENT_HEADERS, SEGMENT_MAX_BYTES, SEGMENT_MAX_EVENTS } from '../segment';
import type { EventLog, EventLogDamage, LogRecord } from '../types';
import type { JetStreamStore } from './connection';
import { ERR_WRONG_LAST_SEQUENCE, MSG_ID, NATS_STREAM, NATS_SUBJECT_PREFIX } from './location';
import { apiCode, delay, isTransient, natsModules, NatsLogError, reason } from './nats-client';

// One run's stream of segments: writing (ordered, idempotent publishes retried across outages) and
// reading (an ordered consumer, every segment checked).

export interface JetStreamLogOptions {
  /** The run id (default: newRunId()). */
  readonly runId?: string;
  /** Segment bounds (defaults 1024 events, 256 KiB of framed records). */
  readonly segmentEvents?: number;
  readonly segmentBytes?: number;
}

interface Segment {
  readonly data: Buffer;
  readonly firstSeq: number;
  readonly count: number;
  readonly end: boolean;
}

/**
 * One run on JetStream as an EventLog. Writing: records are framed into segments (bounded by
 * count and bytes); sealed segments are published in order, one acknowledged publish at a time,
 * each with `Nats-Msg-Id` = `<run-id>:<first seq>` and `Nats-Expected-Last-Subject-Sequence` =
 * the stream seq of the run's previous segment, retried across disconnects and server restarts
 * (up to the store's outage bound): a retried publish the server already stored is a duplicate
 * it drops, so no event is lost or stored twice, and no segment can land out of order.
 * Reading: an ordered consumer filtered to the run's subject, a few segments buffered at a time.
 */
export class JetStreamEventLog implements EventLog {
  readonly location: string;
  readonly subject: string;
  private readonly segmentEvents: number;
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  // Writing state.
  private build: Buffer;
  private buildPos = 0;
  private buildCount = 0;
  private nextSeq = 1;
  private readonly queue: Segment[] = [];
  private queued = 0;
  private pumping: Promise<void> | undefined;
  private lastStreamSeq = 0;
  private failure: unknown;
  private closed = false;
  private aborted = false;
  private published = 0;
  private retries = 0;
  private lastDamage: EventLogDamage | undefined;

  constructor(
    private readonly store: JetStreamStore,
    readonly runId: string,
    readonly header: LogHeader,
    private readonly mode: 'write' | 'read',
    options: JetStreamLogOptions,
  ) {
    this.location = store.location(runId);
    this.subject = NATS_SUBJECT_PREFIX + runId;
    this.segmentEvents = Math.max(1, options.segmentEvents ?? SEGMENT_MAX_EVENTS);
    this.segmentBytes = Math.max(64, options.segmentBytes ?? SEGMENT_MAX_BYTES);
    // A record must fit one message with its headers (the server's max_payload, 1 MiB by default).
    const maxPayload = store.nc.info?.max_payload ?? 1024 * 1024;
    this.maxRecordBytes = Math.min(DEFAULT_MAX_RECORD_BYTES, maxPayload - 4096);
    this.build = Buffer.allocUnsafe(mode === 'write' ? this.segmentBytes : 0);
  }

  get damage(): EventLogDamage | undefined {
    return this.lastDamage;
  }

  /** Events acknowledged by the server so far. */
  get acknowledgedEvents(): number {
    return this.published;
  }

  /** Publish attempts repeated after a timeout or disconnect (a server restart shows here). */
  get retriedPublishes(): number {
    return this.retries;
  }

  /** Bytes of sealed segments waiting for their publish (a synchronous producer piles them up). */
  get queuedBytes(): number {
    return this.queued;
  }

  append(envelopeBytes: Uint8Array): void {
    if (this.mode === 'read') throw new LogError('MTEPERM_LOG_CLOSED', this.location, 0, 'run is open for reading: a recorded run is never appended to');
    this.check();
    const len = envelopeBytes.length;
    if (len === 0 || len > this.maxRecordBytes) throw new LogError('MTEPERM_LOG_LENGTH', this.location, 0, `record length ${len} is outside 1..${this.maxRecordBytes}`);
    // The segment's First-Seq header and the reader's gap check rely on dense seqs: refuse others here.
    const seq = envelopeSeq(envelopeBytes, 0, len);
    if (seq !== this.nextSeq) throw new LogError('MTEPERM_LOG_SEQ', this.location, 0, `record has seq ${seq} where ${this.nextSeq} was expected (seq is dense from 1)`);
    const need = framedLength(len);
    if (this.buildCount > 0 && this.buildPos + need > this.segmentBytes) this.seal(false);
    if (need > this.build.length) this.build = Buffer.allocUnsafe(need); // one oversized record: a segment of its own
    this.buildPos = frameRecord(this.build, this.buildPos, envelopeBytes);
    this.buildCount++;
    this.nextSeq++;
    if (this.buildCount >= this.segmentEvents) this.seal(false);
  }

  /** Publishes the partial segment too and waits until every appended event is acknowledged. */
  async flush(): Promise<void> {
    this.check();
    if (this.buildCount > 0) this.seal(false);
    await this.drain(0);
  }

  /** Resolves once at most `bytes` of sealed segments wait for publishing (back-pressure for async producers). */
  async drain(bytes: number): Promise<void> {
    while (this.queued > bytes && this.failure === undefined) {
      this.kick();
      await this.pumping;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Publishes the rest with the end mark and waits for it: the run is then complete. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.mode === 'read') {
      this.closed = true;
      return;
    }
    this.check();
    this.seal(true);
    this.closed = true;
    await this.drain(0);
  }

  /** Stops publishing. What was acknowledged stays, without an end mark: readers report the run unfinished. */
  async abort(): Promise<void> {
    this.closed = true;
    this.aborted = true;
    await this.pumping;
    this.queue.length = 0;
    this.queued = 0;
  }

  async *read(fromSeq = 1n): AsyncIterableIterator<LogRecord> {
    for await (const r of this.segments(fromSeq)) yield r;
  }

  async *envelopes(fromSeq = 1n): AsyncIterableIterator<Envelope> {
    for await (const r of this.segments(fromSeq)) {
      try {
        yield decodeEnvelope(r.bytes);
      } catch (e) {
        if (!(e instanceof EventCodecError)) throw e;
        this.lastDamage = this.damageAt('MTEPERM_LOG_DECODE', r.streamSeq, `record seq ${r.seq} does not decode: ${e.message}`);
        return;
      }
    }
  }

  private check(): void {
    if (this.closed) throw new LogError('MTEPERM_LOG_CLOSED', this.location, 0, 'run log is closed');
    if (this.failure !== undefined) throw this.failure;
  }

  private seal(end: boolean): void {
    const data = Buffer.from(this.build.subarray(0, this.buildPos));
    this.queue.push({ data, firstSeq: this.nextSeq - this.buildCount, count: this.buildCount, end });
    this.queued += data.length;
    if (this.build.length > this.segmentBytes) this.build = Buffer.allocUnsafe(this.segmentBytes);
    this.buildPos = 0;
    this.buildCount = 0;
    this.kick();
  }

  private kick(): void {
    if (this.pumping !== undefined || this.queue.length === 0 || this.failure !== undefined) return;
    this.pumping = this.pump()
      .catch((e: unknown) => {
        this.failure = e;
      })
      .finally(() => {
        this.pumping = undefined;
      });
  }

  // One publish in flight: with the expected-last-subject-seq check this keeps the run's segments
  // in order across retries. A segment of ~1000 events amortises the round trip.
  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.aborted) {
      const s = this.queue[0]!;
      await this.publish(s);
      this.queue.shift();
      this.queued -= s.data.length;
      this.published += s.count;
    }
  }

  private async publish(s: Segment): Promise<void> {
    const { core } = natsModules();
    const msgId = `${this.runId}:${s.firstSeq}`;
    const h = core.headers();
    h.set(SEGMENT_HEADERS.run, this.runId);
    h.set(SEGMENT_HEADERS.format, String(this.header.formatVersion));
    h.set(SEGMENT_HEADERS.schema, String(this.header.schemaVersion));
    h.set(SEGMENT_HEADERS.profile, this.header.profile);
    h.set(SEGMENT_HEADERS.producer, this.header.producer);
    h.set(SEGMENT_HEADERS.firstSeq, String(s.firstSeq));
    h.set(SEGMENT_HEADERS.count, String(s.count));
    if (s.end) h.set(SEGMENT_HEADERS.end, '1');
    let outageSince: number | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await this.store.js.publish(this.subject, s.data, {
          msgID: msgId,
          headers: h,
          expect: { lastSubjectSequence: this.lastStreamSeq },
          timeout: this.store.ackTimeoutMs,
        });
        this.lastStreamSeq = ack.seq;
        return;
      } catch (e) {
        if (apiCode(e) === ERR_WRONG_LAST_SEQUENCE) {
          // Stored by an earlier attempt whose ack was lost after the dedupe window passed, or another writer.
          const last = await this.store.getMessage({ last_by_subj: this.subject }).catch(() => null);
          if (last !== null && last.header?.get(MSG_ID) === msgId) {
            this.lastStreamSeq = last.seq;
            return;
          }
          throw new NatsLogError(
            'MTEPERM_LOG_NATS_CONFLICT',
            `${this.location}: stream seq ${last?.seq ?? '?'}: another writer appended to this run (this writer's last segment is at stream seq ${this.lastStreamSeq})`,
            { cause: e },
          );
        }
        if (!isTransient(e)) throw this.store.serverError(`publish events ${s.firstSeq}..${s.firstSeq + s.count - 1}`, e);
        outageSince ??= Date.now();
        this.retries++;
        if (Date.now() - outageSince >= this.store.outageTimeoutMs) {
          throw new NatsLogError(
            'MTEPERM_LOG_NATS_UNAVAILABLE',
            `${this.location}: the NATS server did not acknowledge events ${s.firstSeq}.. for ${Math.round(this.store.outageTimeoutMs / 1000)} s (${reason(e)}); ${storedSoFar(s.firstSeq)}`,
            { cause: e },
          );
        }
        await delay(Math.min(50 * 2 ** attempt, 1000));
      }
    }
  }

  private damageAt(code: string, streamSeq: number, why: string): EventLogDamage {
    return Object.freeze({ code, file: this.location, offset: streamSeq, unit: 'stream seq' as const, reason: why, message: `${this.location}: stream seq ${streamSeq}: ${why}` });
  }

  /**
   * The run's records in order, each checked: the message is a segment of this run with this run's
   * header, it starts where the previous one ended, its records pass framing, CRC and seq checks.
   * The first violation ends the readable prefix and is reported (with its stream seq) in `damage`.
   */
  private async *segments(fromSeq: bigint): AsyncGenerator<LogRecord & { readonly streamSeq: number }> {
    if (this.mode === 'write') throw new LogError('MTEPERM_LOG_CLOSED', this.location, 0, 'run is open for writing; open it again to read it');
    this.lastDamage = undefined;
    const from = Number(fromSeq);
    let consumer;
    try {
      consumer = await this.store.js.consumers.get(NATS_STREAM, { filter_subjects: this.subject });
    } catch (e) {
      throw this.store.serverError('create an ordered consumer', e);
    }
    let expected = 1;
    let offset = logHeaderBytes(this.header, this.location).length;
    let lastStreamSeq = 0;
    let ended = false;
    try {
      const pending = (await consumer.info(true)).num_pending;
      if (pending === 0) {
        this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_UNFINISHED', 0, 'the run has no messages');
        return;
      }
      // A few segments buffered at a time (≤ 8 × 256 KiB): memory stays flat whatever the run's length.
      const messages = await consumer.consume({ max_messages: 8 });
      for await (const m of messages) {
        lastStreamSeq = m.seq;
        if (ended) {
          this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_FOREIGN', m.seq, "message after the run's end mark");
          break;
        }
        const h = m.headers;
        const why = segmentHeaderProblem(h, this.runId, this.header);
        if (why !== undefined) {
          this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_FOREIGN', m.seq, `not a segment of this run: ${why}`);
          break;
        }
        const first = Number(h!.get(SEGMENT_HEADERS.firstSeq));
        const count = Number(h!.get(SEGMENT_HEADERS.count));
        if (first !== expected) {
          const what = first > expected ? `events ${expected}..${first - 1} are missing` : `events ${first}..${expected - 1} appear twice`;
          this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_GAP', m.seq, `segment starts at event seq ${first} where ${expected} was expected: ${what}`);
          break;
        }
        const parsed = parseSegment(m.data, first, this.maxRecordBytes);
        if (parsed.damage === undefined && parsed.records.length !== count) {
          this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_FOREIGN', m.seq, `segment holds ${parsed.records.length} records, its header says ${count}`);
          break;
        }
        for (const r of parsed.records) {
          if (r.seq >= from) yield { offset: offset + r.at, seq: BigInt(r.seq), bytes: m.data.subarray(r.start, r.end), streamSeq: m.seq };
        }
        if (parsed.damage !== undefined) {
          const d = parsed.damage;
          this.lastDamage = this.damageAt(d.code, m.seq, `record at byte ${d.at} of the segment (event seq ${first + parsed.records.length}): ${d.reason}`);
          break;
        }
        offset += m.data.length;
        expected += count;
        if (h!.has(SEGMENT_HEADERS.end)) ended = true;
        if (m.info.pending === 0) break;
      }
      if (this.lastDamage === undefined && !ended) {
        this.lastDamage = this.damageAt('MTEPERM_LOG_NATS_UNFINISHED', lastStreamSeq, `the run has no end mark after event seq ${expected - 1} (still being recorded, or its writer stopped)`);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}

/** Why a message's headers do not make it a segment of this run (or undefined when they do). */
function segmentHeaderProblem(h: MsgHdrs | undefined, runId: string, header: LogHeader): string | undefined {
  if (h === undefined) return 'no headers';
  const run = h.get(SEGMENT_HEADERS.run);
  if (run !== runId) return run === '' ? `no ${SEGMENT_HEADERS.run} header` : `${SEGMENT_HEADERS.run} is '${run}'`;
  const fields: Array<[string, string]> = [
    [SEGMENT_HEADERS.format, String(header.formatVersion)],
    [SEGMENT_HEADERS.schema, String(header.schemaVersion)],
    [SEGMENT_HEADERS.profile, header.profile],
    [SEGMENT_HEADERS.producer, header.producer],
  ];
  for (const [k, v] of fields) if (h.get(k) !== v) return `${k} is '${h.get(k)}' where the run's first segment says '${v}'`;
  for (const k of [SEGMENT_HEADERS.firstSeq, SEGMENT_HEADERS.count]) {
    if (!/^[0-9]{1,15}$/.test(h.get(k))) return `${k} is '${h.get(k)}'`;
  }
  if (Number(h.get(SEGMENT_HEADERS.firstSeq)) < 1) return `${SEGMENT_HEADERS.firstSeq} is 0`;
  return undefined;
}

/** The log header a run's first message carries, checked as the file reader checks a file's. */
export function headerOf(h: MsgHdrs | undefined, where: string, streamSeq: number): LogHeader {
  const at = `${where}: stream seq ${streamSeq}`;
  const get = (k: string): string => {
    const v = h?.get(k) ?? '';
    if (v === '') throw new NatsLogError('MTEPERM_LOG_HEADER', `${at}: the run's first message has no ${k} header (not written by mteperm?)`);
    return v;
  };
  const formatVersion = Number(get(SEGMENT_HEADERS.format));
  // Runs recorded as format 1 read as before: JetStream's end mark is the Mteperm-End header in both.
  if (!(formatVersion >= MIN_READABLE_FORMAT_VERSION && formatVersion <= LOG_FORMAT_VERSION)) {
    throw new NatsLogError('MTEPERM_LOG_VERSION', `${at}: log format version ${get(SEGMENT_HEADERS.format)} is not one this build reads (${MIN_READABLE_FORMAT_VERSION}..${LOG_FORMAT_VERSION})`);
  }
  const schemaVersion = Number(get(SEGMENT_HEADERS.schema));
  if (!(schemaVersion >= MIN_READABLE_SCHEMA_VERSION && schemaVersion <= SCHEMA_VERSION)) {
    throw new NatsLogError('MTEPERM_LOG_SCHEMA', `${at}: event schema version ${get(SEGMENT_HEADERS.schema)} is outside what this build reads (${MIN_READABLE_SCHEMA_VERSION}..${SCHEMA_VERSION})`);
  }
  const profile = get(SEGMENT_HEADERS.profile);
  if (!(KERNEL_PROFILES as readonly string[]).includes(profile)) throw new NatsLogError('MTEPERM_LOG_HEADER', `${at}: unknown kernel profile ${JSON.stringify(profile)} (one of ${KERNEL_PROFILES.join('|')})`);
  return Object.freeze({ formatVersion, schemaVersion, profile: profile as KernelProfile, producer: get(SEGMENT_HEADERS.producer) });
}

// What an outage left on the server. Before the first acknowledgement nothing of the run exists
// there, so `runs` cannot list it: say so rather than "events 1..0 are stored".
function storedSoFar(firstUnacked: number): string {
  if (firstUnacked <= 1) return 'no event of this run was stored, so the server holds no trace of it (`runs` does not list it)';
  return `events 1..${firstUnacked - 1} are stored, the run is unfinished`;
}
