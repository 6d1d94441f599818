import fc from 'fast-check';
import { mteperm } from '../generated/pb';
import { decodeEnvelope, encodeAndDecodeEnvelope, encodeEnvelope, encodeEvent } from './codec';
import { EventCodecError } from './errors';
import { EVENT_TYPES } from '../generated/union';
import type { MteEvent } from '../generated/union';
import { NO_VCPU, SCHEMA_VERSION } from './schema';
import { SAMPLE_EVENTS, SAMPLE_EVENT_LIST, thrownCode } from './testing';

const header = { seq: 1n, vm: 0, vcpu: NO_VCPU, causation: 0n };

const codeOf = (f: () => unknown): string | undefined => thrownCode(f, EventCodecError);

describe('event codec', () => {
  it('has a sample for every event kind of the schema', () => {
    expect(Object.keys(SAMPLE_EVENTS).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each(SAMPLE_EVENT_LIST.map((e) => [e.type, e] as const))('round-trips %s exactly', (_type, event) => {
    const bytes = encodeEnvelope({ seq: 0x1_0000_0001n, vm: 3, vcpu: 2, causation: 0xffff_ffff_ffff_fffen }, event);
    const back = decodeEnvelope(bytes);
    expect(back.seq).toBe(0x1_0000_0001n);
    expect(back.vm).toBe(3);
    expect(back.vcpu).toBe(2);
    expect(back.causation).toBe(0xffff_ffff_ffff_fffen);
    expect(back.schema).toBe(SCHEMA_VERSION);
    expect(back.type).toBe(event.type);
    expect(back.data).toEqual(event.data);
    // the decoded event is immutable, nested values too
    expect(Object.isFrozen(back)).toBe(true);
    expect(Object.isFrozen(back.data)).toBe(true);
    // re-encoding the decoded envelope gives the same bytes (canonical encoding)
    expect(Buffer.from(encodeEvent(back)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('keeps 64-bit values above 2^53 exact (DOMAIN B §4.1 descriptors use bits 54..58)', () => {
    const desc = 0x0780_0008_0000_07ffn; // SW bits [58:55] all set, XN (54) clear
    const ev: MteEvent = { type: 'Stage2Mapped', data: { ipa: 0xffff_ffff_f000n, size: 0x1000n, level: 3, desc } };
    const back = decodeEnvelope(encodeEnvelope(header, ev));
    expect(back.type === 'Stage2Mapped' && back.data.desc).toBe(desc);
  });

  it('shows the protobufjs hazard: a raw bigint passed to encode() becomes 0', () => {
    // This is why the codec converts at the boundary: the generated encoder drops a bigint silently.
    const raw = mteperm.events.v1.Envelope.encode({
      seq: 5n,
      schema: 1,
      memory_fault_exit: { exit_reason: 39, gpa: 0x10000000n, size: 0x1000n, flags: 0x10n, ret: -14 },
    } as unknown as mteperm.events.v1.IEnvelope).finish();
    const back = decodeEnvelope(raw);
    expect(back.seq).toBe(0n);
    expect(back.type === 'MemoryFaultExit' && back.data.gpa).toBe(0n);
  });

  it('refuses a number where a 64-bit field is due, naming the field', () => {
    const bad = { type: 'MemoryFaultExit', data: { exit_reason: 39, gpa: 0x10000000, size: 0x1000n, flags: 0x10n, ret: -14 } } as unknown as MteEvent;
    expect(codeOf(() => encodeEnvelope(header, bad))).toBe('MTEPERM_EVENT_FIELD: MemoryFaultExit.gpa: expected bigint in [0, 2^64), got number 268435456');
  });

  it('refuses a number in the header where a bigint seq is due', () => {
    expect(codeOf(() => encodeEnvelope({ ...header, seq: 1 as unknown as bigint }, SAMPLE_EVENTS.VmCreated))).toBe(
      'MTEPERM_EVENT_FIELD: Envelope.seq: expected bigint in [0, 2^64), got number 1',
    );
  });

  it('refuses out-of-range values instead of wrapping them', () => {
    const neg = { type: 'TagsSanitised', data: { pa: -1n, size: 0x1000n } } as MteEvent;
    expect(codeOf(() => encodeEnvelope(header, neg))).toMatch(/^MTEPERM_EVENT_FIELD: TagsSanitised.pa: expected bigint in \[0, 2\^64\)/);
    const big = { type: 'TagsSanitised', data: { pa: 1n << 64n, size: 0x1000n } } as MteEvent;
    expect(codeOf(() => encodeEnvelope(header, big))).toMatch(/^MTEPERM_EVENT_FIELD: TagsSanitised.pa/);
    const u32 = { type: 'VmCreated', data: { ipa_bits: 2 ** 32, ret: 0 } } as MteEvent;
    expect(codeOf(() => encodeEnvelope(header, u32))).toMatch(/^MTEPERM_EVENT_FIELD: VmCreated.ipa_bits: expected integer in \[0, 2\^32\)/);
  });

  it('refuses a bigint, a string or a fraction where a 32-bit field is due, naming the field (body and header)', () => {
    const cases: [MteEvent, string][] = [
      [{ type: 'VmCreated', data: { ipa_bits: 40n, ret: 0 } } as unknown as MteEvent, 'VmCreated.ipa_bits: expected integer in [0, 2^32), got 40n'],
      [{ type: 'VmCreated', data: { ipa_bits: '40', ret: 0 } } as unknown as MteEvent, 'VmCreated.ipa_bits: expected integer in [0, 2^32), got string 40'],
      [{ type: 'VmCreated', data: { ipa_bits: 40.5, ret: 0 } } as unknown as MteEvent, 'VmCreated.ipa_bits: expected integer in [0, 2^32), got number 40.5'],
      [{ type: 'VmCreated', data: { ipa_bits: 40, ret: -1n } } as unknown as MteEvent, 'VmCreated.ret: expected integer in [-2^31, 2^31), got -1n'],
      [{ type: 'Stage2MapRequested', data: { ...SAMPLE_EVENTS.Stage2MapRequested.data, w: 1 } } as unknown as MteEvent, 'Stage2MapRequested.w: expected boolean, got number 1'],
    ];
    for (const [ev, message] of cases) {
      expect(codeOf(() => encodeEnvelope(header, ev))).toBe(`MTEPERM_EVENT_FIELD: ${message}`);
      expect(codeOf(() => encodeAndDecodeEnvelope(header, ev))).toBe(`MTEPERM_EVENT_FIELD: ${message}`);
    }
    expect(codeOf(() => encodeAndDecodeEnvelope({ ...header, vm: 1n as unknown as number }, SAMPLE_EVENTS.VmCreated))).toBe(
      'MTEPERM_EVENT_FIELD: Envelope.vm: expected integer in [0, 2^32), got 1n',
    );
    expect(codeOf(() => encodeAndDecodeEnvelope({ ...header, vcpu: 0.5 }, SAMPLE_EVENTS.VmCreated))).toBe(
      'MTEPERM_EVENT_FIELD: Envelope.vcpu: expected integer in [-2^31, 2^31), got number 0.5',
    );
  });

  it('refuses an unknown access op and an unknown event type', () => {
    const op = { ...SAMPLE_EVENTS.AccessRequested, data: { ...SAMPLE_EVENTS.AccessRequested.data, op: 'stz2g' } } as unknown as MteEvent;
    expect(codeOf(() => encodeEnvelope(header, op))).toMatch(/^MTEPERM_EVENT_FIELD: AccessRequested.op: expected one of read, write, exec, ldg, stg/);
    expect(codeOf(() => encodeEnvelope(header, { type: 'Nope', data: {} } as unknown as MteEvent))).toBe('MTEPERM_EVENT_FIELD: unknown event type Nope');
  });

  it('keeps optional fields absent when absent', () => {
    const ev: MteEvent = { type: 'MigrationChecked', data: { target_cpus: [], accepted: true, failed_op: '', failed_cap: '', ret: 0 } };
    const back = decodeEnvelope(encodeEnvelope(header, ev));
    expect(back.type).toBe('MigrationChecked');
    expect('failed_step' in back.data).toBe(false);
    expect('failed_slot' in back.data).toBe(false);
  });

  it('refuses malformed bytes, an envelope without body, an unknown enum value and a future schema', () => {
    expect(codeOf(() => decodeEnvelope(new Uint8Array([0x0a, 0xff, 0xff])))).toMatch(/^MTEPERM_EVENT_DECODE: malformed envelope/);
    const noBody = mteperm.events.v1.Envelope.encode({ schema: 1 }).finish();
    expect(codeOf(() => decodeEnvelope(noBody))).toBe('MTEPERM_EVENT_DECODE: malformed envelope: envelope has no event body');
    const badEnum = mteperm.events.v1.Envelope.encode({ schema: 1, access_requested: { op: 99, tcf: 1, s1: 1 } } as unknown as mteperm.events.v1.IEnvelope).finish();
    expect(codeOf(() => decodeEnvelope(badEnum))).toBe('MTEPERM_EVENT_DECODE: malformed envelope: AccessRequested.op: unknown enum value 99');
    const future = encodeEnvelope({ ...header, schema: SCHEMA_VERSION + 1 }, SAMPLE_EVENTS.VmCreated);
    expect(codeOf(() => decodeEnvelope(future))).toBe(
      `MTEPERM_EVENT_SCHEMA: event schema version ${SCHEMA_VERSION + 1} is not readable by this build (reads 1..${SCHEMA_VERSION})`,
    );
  });

  it('round-trips any 64-bit value in every uint64 position (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (seq, desc, ret) => {
        const a = decodeEnvelope(encodeEnvelope({ ...header, seq }, { type: 'Stage2Mapped', data: { ipa: desc, size: desc, level: 3, desc } }));
        const b = decodeEnvelope(encodeEnvelope(header, { type: 'CapabilityChecked', data: { cap: 239, cap_name: 'x', ret } }));
        return a.seq === seq && a.type === 'Stage2Mapped' && a.data.desc === desc && b.type === 'CapabilityChecked' && b.data.ret === ret;
      }),
      { numRuns: Number(process.env['MTEPERM_PROPS_RUNS'] ?? 500) },
    );
  });
});
