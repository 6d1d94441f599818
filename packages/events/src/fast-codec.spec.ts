import fc from 'fast-check';
import { mteperm } from '../generated/pb';
import { decodeFast, encodeFast, FALLBACK } from '../generated/fast';
import { BODY_FIELD, bodyFromWire, bodyToWire } from '../generated/union';
import type { MteEvent } from '../generated/union';
import { decodeEnvelope, decodeEnvelopeAt, encodeAndDecodeEnvelope, encodeEnvelope } from './codec';
import { EventCodecError } from './errors';
import { NO_VCPU, SCHEMA_VERSION } from './schema';
import { SAMPLE_EVENT_LIST, SAMPLE_EVENTS } from './testing';

// The generated fast codec (scripts/fast-codec.cjs) against protobufjs itself: the same wire bytes,
// the same decoded edge objects, and the fall-back to protobufjs where the fast path stops.

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wire = require('../generated/runtime.cjs') as { u64ToWire(v: unknown, where: string): unknown };
const PbEnvelope = mteperm.events.v1.Envelope;

type Header = { seq: bigint; vm: number; vcpu: number; causation: bigint; schema?: number };

/** What protobufjs writes for header + event (the path the codec used before the fast one). */
function protobufjsBytes(h: Header, event: MteEvent): Buffer {
  const w: Record<string, unknown> = {
    seq: wire.u64ToWire(h.seq, 'seq'),
    vm: h.vm,
    vcpu: h.vcpu,
    causation: wire.u64ToWire(h.causation, 'causation'),
    schema: h.schema ?? SCHEMA_VERSION,
  };
  w[BODY_FIELD[event.type]] = bodyToWire(event);
  return Buffer.from(PbEnvelope.encode(w as mteperm.events.v1.IEnvelope).finish());
}

/** What protobufjs decodes, converted to the edge form as the codec did before. */
function protobufjsDecode(bytes: Uint8Array): { seq: bigint; vm: number; vcpu: number; causation: bigint; schema: number; type: string; data: unknown } {
  const m = PbEnvelope.decode(bytes);
  const e = bodyFromWire(m);
  const u = (l: unknown) => (typeof l === 'number' ? BigInt(l) : BigInt.asUintN(64, (BigInt((l as { high: number }).high >>> 0) << 32n) | BigInt((l as { low: number }).low >>> 0)));
  return { seq: u(m.seq), vm: m.vm, vcpu: m.vcpu, causation: u(m.causation), schema: m.schema, type: e.type, data: e.data };
}

// JSON with bigints and bytes spelled out, keys in their order: equal output means equal objects
// with the same key order (which the result documents and the state hash print).
const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `bytes:${Buffer.from(x).toString('hex')}` : x));

const headers: Header[] = [
  { seq: 1n, vm: 0, vcpu: NO_VCPU, causation: 0n },
  { seq: 0x1_0000_0001n, vm: 3, vcpu: 2, causation: 0xffff_ffff_ffff_fffen },
  { seq: 0n, vm: 0xffff_ffff, vcpu: -0x8000_0000, causation: 127n },
];

describe('fast codec (generated): same bytes and objects as protobufjs', () => {
  it.each(SAMPLE_EVENT_LIST.map((e) => [e.type, e] as const))('%s: the fast path writes protobufjs\' bytes and reads them back as protobufjs does', (_t, event) => {
    for (const h of headers) {
      const fast = Buffer.from(encodeFast(h, event, SCHEMA_VERSION)); // throws FALLBACK if the fast path did not take it
      expect(fast.toString('hex')).toBe(protobufjsBytes(h, event).toString('hex'));
      expect(Buffer.from(encodeEnvelope(h, event)).equals(fast)).toBe(true);
      const viaFast = decodeFast(fast, SCHEMA_VERSION);
      const viaPb = protobufjsDecode(fast);
      expect(show(viaFast)).toBe(show(viaPb));
      expect(Object.isFrozen(viaFast) && Object.isFrozen(viaFast.data)).toBe(true);
      // the bus' encode-and-decode: the envelope decoding gives, with its key order
      const both = encodeAndDecodeEnvelope(h, event);
      expect(Buffer.from(both.bytes).equals(fast)).toBe(true);
      expect(show(both.envelope)).toBe(show(decodeEnvelope(fast)));
      expect(Object.isFrozen(both.envelope) && Object.isFrozen(both.envelope.data)).toBe(true);
    }
  });

  it('writes and reads default values (zero, false, empty) exactly as protobufjs', () => {
    const events: MteEvent[] = [
      { type: 'Stage2Mapped', data: { ipa: 0n, size: 0n, level: 0, desc: 0n } },
      { type: 'CapabilityEnabled', data: { cap: 0, cap_name: '', flags: 0n, args: [], ret: 0, step: 0 } },
      { type: 'CapabilityChecked', data: { cap: 1, cap_name: 'x', ret: -(1n << 63n) } },
      { type: 'StateHashRecorded', data: { sha256: new Uint8Array(0), events: 0n } },
      { type: 'RunStarted', data: { scenario: 'a'.repeat(300), kernel: '', policies: ['', 'b'], tag_pool_pages: 1n << 63n } },
      { type: 'MigrationChecked', data: { target_cpus: [], accepted: false, failed_op: '', failed_cap: '', ret: -1 } },
    ];
    for (const event of events) {
      const h = { seq: 0n, vm: 0, vcpu: 0, causation: 0n };
      const fast = Buffer.from(encodeFast(h, event, SCHEMA_VERSION));
      expect(fast.toString('hex')).toBe(protobufjsBytes(h, event).toString('hex'));
      expect(show(decodeFast(fast, SCHEMA_VERSION).data)).toBe(show(protobufjsDecode(fast).data));
      expect(show(encodeAndDecodeEnvelope(h, event).envelope)).toBe(show(decodeEnvelope(fast)));
    }
  });

  it('leaves an envelope larger than its 1 MiB scratch to protobufjs: same bytes, same envelope, and the next event is fast again', () => {
    const h = { seq: 7n, vm: 1, vcpu: 0, causation: 6n };
    const huge: MteEvent = { type: 'PluginFailed', data: { plugin: 'p', hook: 'decide', reason: 'threw', message: 'x'.repeat(1 << 20) } };
    expect(() => encodeFast(h, huge, SCHEMA_VERSION)).toThrow(expect.objectContaining({ fallback: true }));
    const bytes = encodeEnvelope(h, huge);
    expect(bytes.length).toBeGreaterThan(1 << 20);
    expect(Buffer.from(bytes).equals(protobufjsBytes(h, huge))).toBe(true);
    const both = encodeAndDecodeEnvelope(h, huge);
    expect(Buffer.from(both.bytes).equals(Buffer.from(bytes))).toBe(true);
    expect(both.envelope.type === 'PluginFailed' && both.envelope.data.message.length).toBe(1 << 20);
    const small = Buffer.from(encodeFast(h, SAMPLE_EVENTS.Stage2Mapped, SCHEMA_VERSION));
    expect(small.toString('hex')).toBe(protobufjsBytes(h, SAMPLE_EVENTS.Stage2Mapped).toString('hex'));
  });

  it('matches protobufjs for any field values (property)', () => {
    const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    const s64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
    const u32 = fc.nat({ max: 0xffff_ffff });
    const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
    const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 200 });
    const header = fc.record({ seq: u64, vm: u32, vcpu: i32, causation: u64 });
    const event: fc.Arbitrary<MteEvent> = fc.oneof(
      fc.record({ ipa: u64, size: u64, level: u32, desc: u64 }).map((data) => ({ type: 'Stage2Mapped', data }) as MteEvent),
      fc.record({ cap: u32, cap_name: ascii, flags: u64, args: fc.array(u64, { maxLength: 20 }), ret: i32 }).map((data) => ({ type: 'CapabilityEnabled', data }) as MteEvent),
      fc.record({ cap: u32, cap_name: ascii, ret: s64 }).map((data) => ({ type: 'CapabilityChecked', data }) as MteEvent),
      fc.record({ sha256: fc.uint8Array({ maxLength: 300 }), events: u64 }).map((data) => ({ type: 'StateHashRecorded', data }) as MteEvent),
      fc.record({ ipa: u64, plugin: ascii, decision: ascii, fault_seq: u64 }).map((data) => ({ type: 'PolicyDecided', data }) as MteEvent),
      // AccessEnded: any subset of its optional (per-outcome) fields present.
      fc
        .record(
          {
            step: u32,
            gpa: u64,
            outcome: fc.constantFrom('ok', 'exit', 'retried', 'injected', 'error'),
            ret: i32,
            esr: u64,
            exit_reason: u32,
            exit_gpa: u64,
            exit_size: u64,
            exit_flags: u64,
            phys_addr: u64,
            len: u32,
            is_write: fc.boolean(),
            abort_kind: fc.constantFrom('sea', 'stage2', 'prefetch'),
            abort_esr: u64,
            abort_target_level: u32,
            reason: ascii,
          },
          { requiredKeys: ['step', 'gpa', 'outcome', 'ret'] },
        )
        .map((data) => ({ type: 'AccessEnded', data }) as MteEvent),
    );
    fc.assert(
      fc.property(header, event, (h, ev) => {
        const fast = Buffer.from(encodeFast(h, ev, SCHEMA_VERSION));
        if (fast.toString('hex') !== protobufjsBytes(h, ev).toString('hex')) return false;
        if (show(decodeFast(fast, SCHEMA_VERSION)) !== show(protobufjsDecode(fast))) return false;
        return show(encodeAndDecodeEnvelope(h, ev).envelope) === show(decodeEnvelope(fast));
      }),
      { numRuns: Number(process.env['MTEPERM_PROPS_RUNS'] ?? 300) },
    );
  });

  it('leaves a non-ASCII string to protobufjs, with the same bytes and the same decoded text', () => {
    const event: MteEvent = { type: 'PluginFailed', data: { plugin: 'pölicy', hook: 'onFault', reason: 'threw', message: 'naïve \u{1f600} é' } };
    const h = { seq: 9n, vm: 1, vcpu: 0, causation: 8n };
    expect(() => encodeFast(h, event, SCHEMA_VERSION)).toThrow();
    let thrown: unknown;
    try {
      encodeFast(h, event, SCHEMA_VERSION);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(FALLBACK);
    const bytes = encodeEnvelope(h, event);
    expect(Buffer.from(bytes).equals(protobufjsBytes(h, event))).toBe(true);
    expect(show(decodeEnvelope(bytes))).toBe(show(protobufjsDecode(bytes)));
    expect(show(encodeAndDecodeEnvelope(h, event).envelope)).toBe(show(decodeEnvelope(bytes)));
  });

  it('leaves unusual but valid wire data to protobufjs: unknown fields, unpacked repeated values, a body twice', () => {
    const ok = encodeEnvelope({ seq: 5n, vm: 1, vcpu: 0, causation: 4n }, { type: 'CapabilityEnabled', data: { cap: 1, cap_name: 'c', flags: 0n, args: [1n, 2n], ret: 0 } });
    const unknownField = Buffer.concat([Buffer.from(ok), Buffer.from([0x98, 0x06, 0x01])]); // field 99, varint 1
    const body = Buffer.from(ok).subarray(6); // the CapabilityEnabled body (tag 170 1, length, fields)
    const twice = Buffer.concat([Buffer.from(ok), body]);
    for (const bytes of [unknownField, twice]) {
      expect(() => decodeFast(bytes, SCHEMA_VERSION)).toThrow();
      expect(show(decodeEnvelope(bytes))).toBe(show(protobufjsDecode(bytes)));
    }
    // args unpacked: field 4 as two varints, which protobufjs accepts too
    const unpacked = PbEnvelope.decode(Buffer.concat([Buffer.from([0x08, 0x05, 0x28, 0x01, 0xaa, 0x01, 0x06, 0x08, 0x01, 0x20, 0x07, 0x20, 0x08])]));
    expect(unpacked.capability_enabled?.args?.map(Number)).toEqual([7, 8]);
    const bytes = Buffer.from([0x08, 0x05, 0x28, 0x01, 0xaa, 0x01, 0x06, 0x08, 0x01, 0x20, 0x07, 0x20, 0x08]);
    expect(() => decodeFast(bytes, SCHEMA_VERSION)).toThrow();
    const e = decodeEnvelope(bytes);
    expect(e.type === 'CapabilityEnabled' && e.data.args).toEqual([7n, 8n]);
  });

  it('gives encodeAndDecodeEnvelope the codec\'s errors', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof EventCodecError ? `${e.code}: ${e.message}` : `other ${(e as Error).message}`;
      }
      return 'none';
    };
    const h = { seq: 1n, vm: 0, vcpu: NO_VCPU, causation: 0n };
    const bad = { type: 'TagsSanitised', data: { pa: -1n, size: 0n } } as MteEvent;
    expect(code(() => encodeAndDecodeEnvelope(h, bad))).toBe(code(() => encodeEnvelope(h, bad)));
    expect(code(() => encodeAndDecodeEnvelope(h, bad))).toMatch(/^MTEPERM_EVENT_FIELD: TagsSanitised.pa/);
    const ev: MteEvent = { type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } };
    expect(code(() => encodeAndDecodeEnvelope({ ...h, schema: SCHEMA_VERSION + 1 }, ev))).toMatch(/^MTEPERM_EVENT_SCHEMA/);
    expect(code(() => encodeAndDecodeEnvelope({ ...h, seq: 1 as unknown as bigint }, ev))).toBe('MTEPERM_EVENT_FIELD: Envelope.seq: expected bigint in [0, 2^64), got number 1');
  });
});

describe('decodeEnvelopeAt (a record decoded in place in a larger buffer)', () => {
  it('gives the same envelope as decoding a copy of the bytes, for every sample event', () => {
    for (const ev of SAMPLE_EVENT_LIST) {
      const bytes = encodeEnvelope({ seq: 0x1_0000_0007n, vm: 1, vcpu: 2, causation: 3n }, ev);
      const buf = new Uint8Array(bytes.length + 11).fill(0xa5);
      buf.set(bytes, 5);
      expect(decodeEnvelopeAt(buf, 5, 5 + bytes.length)).toEqual(decodeEnvelope(bytes));
    }
  });

  it('reads nothing past its end: a record cut short is an error, not the next record', () => {
    const bytes = encodeEnvelope({ seq: 1n, vm: 0, vcpu: -1, causation: 0n }, SAMPLE_EVENTS.MemoryFaultExit);
    const buf = new Uint8Array(bytes.length * 2);
    buf.set(bytes, 0);
    buf.set(bytes, bytes.length);
    expect(() => decodeEnvelopeAt(buf, 0, bytes.length - 3)).toThrow(EventCodecError);
  });
});
