import { mteperm } from '../generated/pb';
import { BODY_FIELD, bodyToWire } from '../generated/union';
import type { MteEvent } from '../generated/union';
import { decodeEnvelope, encodeEnvelope } from './codec';
import { SCHEMA_VERSION } from './schema';

// DOMAIN A.3.3 / A.3.7 / A.3.8 fields (AccessRequested 20–24, HostCpusProbed 20–21) are proto3
// `optional`: absent in old logs and in events that use the defaults, present (even at a default
// value) when set; the fast codec writes exactly protobufjs' bytes either way.
const header = { seq: 7n, vm: 1, vcpu: 0, causation: 3n };
const base = { step: 8, gpa: 0x1000_0040n, op: 'checked_read', level: 1, tcf: 'sync', s1: 'tagged' } as const;

function protobufjsBytes(event: MteEvent): Buffer {
  const w: Record<string, unknown> = { seq: 7, vm: 1, vcpu: 0, causation: 3, schema: SCHEMA_VERSION };
  w[BODY_FIELD[event.type]] = bodyToWire(event);
  return Buffer.from(mteperm.events.v1.Envelope.encode(w as mteperm.events.v1.IEnvelope).finish());
}

describe('A.3 optional event fields', () => {
  const cases: [string, MteEvent][] = [
    ['defaults left out (the bytes older builds wrote)', { type: 'AccessRequested', data: base }],
    ['size 2, X3', { type: 'AccessRequested', data: { ...base, size: 2, reg: 3 } }],
    ['an explicit default is present: size 8, pair false, reg 0, ata true, tco false', { type: 'AccessRequested', data: { ...base, size: 8, pair: false, reg: 0, ata: true, tco: false } }],
    ['ata false, tco true', { type: 'AccessRequested', data: { ...base, ata: false, tco: true } }],
    ['host without FEAT_MTE_ASYNC', { type: 'HostCpusProbed', data: { cpus: [], sanitised: { id_aa64pfr1_el1: 0x200n, id_aa64pfr2_el1: 0n, id_aa64mmfr2_el1: 0n, id_aa64mmfr4_el1: 0n }, mte: 2, mte_perm: false, s2fwb: false, nv: false, mte_async: false, mte_asym_fault: false } }],
  ];
  it.each(cases)('%s: the fast codec writes protobufjs\' bytes and reads back the same event', (_name, event) => {
    const bytes = encodeEnvelope(header, event);
    expect(Buffer.from(bytes)).toEqual(protobufjsBytes(event));
    expect(decodeEnvelope(bytes)).toMatchObject({ type: event.type, data: event.data });
  });
  it('an AccessRequested without the fields decodes with them absent (old logs: size 8, X0, ATA 1, TCO 0)', () => {
    const d = decodeEnvelope(encodeEnvelope(header, { type: 'AccessRequested', data: base })).data as unknown as Record<string, unknown>;
    for (const k of ['size', 'pair', 'reg', 'ata', 'tco']) expect(d[k]).toBeUndefined();
  });
  it('field numbers: AccessRequested size = 20 … tco = 24 (wire tags 0xa0 0x01 …)', () => {
    const bytes = Buffer.from(encodeEnvelope(header, { type: 'AccessRequested', data: { ...base, size: 4 } }));
    // field 20, varint: tag (20 << 3) | 0 = 160 = 0xa0 0x01, then 4.
    expect(bytes.includes(Buffer.from([0xa0, 0x01, 0x04]))).toBe(true);
  });
});
