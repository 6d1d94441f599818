import * as fs from 'node:fs';
import * as path from 'node:path';
import { util as pbUtil } from 'protobufjs/minimal';
import { EventBus } from '@mteperm/bus';
import { decodeEnvelope, encodeEnvelope } from '@mteperm/events';
import type { MteEvent } from '@mteperm/events';
import { logSink, openLogReader, openLogWriter } from '@mteperm/log';
import type { EventSink } from '@mteperm/bus';
// The generated static module itself, not the checked codec: the reference the codec is compared to.
import { mteperm } from '@mteperm/events/reference';
import { nowNs } from './stats';

/** One measured quantity of the bench document (CONTRACT §4). */
export interface FigureDef {
  readonly name: string;
  readonly unit: string;
  /** Figure this one is compared to as a ratio. */
  readonly reference?: string;
}

/**
 * A group of figures measured together (they share set-up, e.g. the log file that `append` writes
 * and `read` reads). `run(n)` does n operations per figure and returns nanoseconds per figure.
 */
export interface FigureGroup {
  readonly name: string;
  readonly figures: readonly FigureDef[];
  run(n: number): Record<string, number>;
  /** Most operations a run may do (memory bound for groups that keep per-operation data). */
  readonly maxOps?: number;
  /** Releases what set-up created (temp files). */
  dispose?(): void;
}

const PbEnvelope = mteperm.events.v1.Envelope;
const Long = pbUtil.Long;
// protobufjs' own minimal Long type and the 'long' package type of the generated module differ only
// in declared methods; the object is the same class at run time.
type WireU64 = NonNullable<mteperm.events.v1.Envelope.$Properties['seq']>;
const u64 = (v: bigint) => new Long(Number(v & 0xffff_ffffn), Number(v >> 32n), true) as unknown as WireU64;

/** The ~8-field event every throughput figure uses: a stage-2 permission fault with TagAccess. */
export const BENCH_EVENT: MteEvent = {
  type: 'Stage2FaultTaken',
  data: { ipa: 0x10000040n, esr: 0x0000_0200_9200_004fn, kind: 'permission', level: 3, tag_access: true, op: 'stg' },
};

// The same envelope as protobufjs wants it: Long fields prepared once, outside the timed loops.
function rawEnvelope(seq: number): mteperm.events.v1.Envelope.$Properties {
  return {
    seq: u64(BigInt(seq)),
    vm: 1,
    vcpu: 0,
    causation: u64(BigInt(seq - 1)),
    schema: 1,
    stage2_fault_taken: {
      ipa: u64(0x10000040n),
      esr: u64(0x0000_0200_9200_004fn),
      kind: mteperm.events.v1.FaultKind.FAULT_KIND_PERMISSION,
      level: 3,
      tag_access: true,
      op: mteperm.events.v1.AccessOp.ACCESS_OP_STG,
    },
  };
}

// Results are folded into this so no loop body is dead code to the JIT.
let blackhole = 0;
export function consumed(): number {
  return blackhole;
}

export function protobufGroup(): FigureGroup {
  const msg = rawEnvelope(12345);
  const bytes = PbEnvelope.encode(msg).finish();
  return {
    name: 'protobufjs (reference)',
    figures: [
      { name: 'ref.protobuf_encode_decode_per_s', unit: 'events/s' },
      { name: 'ref.protobuf_encode_per_s', unit: 'events/s' },
      { name: 'ref.protobuf_decode_per_s', unit: 'events/s' },
    ],
    run(n) {
      let t = nowNs();
      for (let i = 0; i < n; i++) {
        const b = PbEnvelope.encode(msg).finish();
        blackhole += PbEnvelope.decode(b).vm;
      }
      const encodeDecode = nowNs() - t;
      t = nowNs();
      for (let i = 0; i < n; i++) blackhole += PbEnvelope.encode(msg).finish().length;
      const encode = nowNs() - t;
      t = nowNs();
      for (let i = 0; i < n; i++) blackhole += PbEnvelope.decode(bytes).vm;
      const decode = nowNs() - t;
      return { 'ref.protobuf_encode_decode_per_s': encodeDecode, 'ref.protobuf_encode_per_s': encode, 'ref.protobuf_decode_per_s': decode };
    },
  };
}

export function eventsGroup(): FigureGroup {
  const header = { seq: 12345n, vm: 1, vcpu: 0, causation: 12344n };
  const bytes = encodeEnvelope(header, BENCH_EVENT);
  return {
    name: '@mteperm/events codec',
    figures: [
      { name: 'events.encode_per_s', unit: 'events/s', reference: 'ref.protobuf_encode_per_s' },
      { name: 'events.decode_per_s', unit: 'events/s', reference: 'ref.protobuf_decode_per_s' },
    ],
    run(n) {
      let t = nowNs();
      for (let i = 0; i < n; i++) blackhole += encodeEnvelope(header, BENCH_EVENT).length;
      const encode = nowNs() - t;
      t = nowNs();
      for (let i = 0; i < n; i++) blackhole += decodeEnvelope(bytes).vm;
      const decode = nowNs() - t;
      return { 'events.encode_per_s': encode, 'events.decode_per_s': decode };
    },
  };
}

export function busGroup(): FigureGroup {
  return {
    name: '@mteperm/bus',
    figures: [{ name: 'bus.publish_events_per_s', unit: 'events/s', reference: 'ref.protobuf_encode_decode_per_s' }],
    run(n) {
      // A fresh bus per run (seq from 1); one subscriber, no sink: publish = encode + decode + deliver.
      const bus = new EventBus();
      bus.subscribe('bench', 'Stage2FaultTaken', (e) => {
        blackhole += e.vm;
      });
      const t = nowNs();
      for (let i = 0; i < n; i++) bus.publish(BENCH_EVENT, { vm: 1, vcpu: 0 });
      return { 'bus.publish_events_per_s': nowNs() - t };
    },
  };
}

/** Appends pre-encoded envelopes to a temp log, then reads it back; files live in `dir`. */
export function logGroup(dir: string): FigureGroup {
  const file = path.join(dir, 'bench.mtelog');
  // Pre-encoded with dense seq so the reader accepts the file, packed in one buffer: half a million
  // separate Uint8Arrays would sit in the old generation and slow every GC the timed loops cause.
  let packed = Buffer.alloc(0);
  let ends = new Uint32Array(0);
  const ensure = (n: number) => {
    if (ends.length >= n) return;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < n; i++) parts.push(encodeEnvelope({ seq: BigInt(i + 1), vm: 1, vcpu: 0, causation: BigInt(i) }, BENCH_EVENT));
    packed = Buffer.concat(parts);
    ends = new Uint32Array(n);
    let at = 0;
    parts.forEach((p, i) => (ends[i] = at += p.length));
  };
  return {
    name: '@mteperm/log',
    maxOps: 500_000,
    figures: [
      { name: 'log.append_events_per_s', unit: 'events/s' },
      { name: 'log.read_events_per_s', unit: 'events/s', reference: 'ref.protobuf_decode_per_s' },
      { name: 'log.scan_records_per_s', unit: 'records/s', reference: 'ref.protobuf_decode_per_s' },
    ],
    run(n) {
      ensure(n);
      // fsync is left out: it measures the disk, not the writer.
      let t = nowNs();
      const w = openLogWriter(file, { profile: 'v2', producer: 'mteperm-bench', fsync: false });
      for (let i = 0, start = 0; i < n; i++) {
        const end = ends[i]!;
        w.append(packed.subarray(start, end));
        start = end;
      }
      w.close();
      const append = nowNs() - t;

      const r = openLogReader(file);
      t = nowNs();
      let count = 0;
      for (const e of r.envelopes()) count += e.vm;
      const read = nowNs() - t;
      t = nowNs();
      for (const rec of r.records()) count += rec.bytes.length;
      const scan = nowNs() - t;
      const damage = r.damage;
      r.close();
      if (damage !== undefined) throw new Error(`bench log damaged: ${damage.message}`);
      blackhole += count;
      return { 'log.append_events_per_s': append, 'log.read_events_per_s': read, 'log.scan_records_per_s': scan };
    },
    dispose() {
      packed = Buffer.alloc(0);
      ends = new Uint32Array(0);
      fs.rmSync(file, { force: true });
    },
  };
}

/** Checks at compile time that the log's sink plugs into the bus. */
export const sinkFits: (w: Parameters<typeof logSink>[0]) => EventSink = logSink;
