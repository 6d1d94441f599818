import { mteperm } from '../generated/pb';
import { decodeFast, encodeFast, FALLBACK, lastData, lastSchema } from '../generated/fast';
import { BODY_FIELD, bodyFromWire, bodyToWire } from '../generated/union';
import type { MteEvent } from '../generated/union';
import type { Envelope, EventHeader } from './envelope';
import { EventCodecError } from './errors';
import { MIN_READABLE_SCHEMA_VERSION, SCHEMA_VERSION } from './schema';

// runtime.cjs ships next to the generated union; its checked converters are reused for the header.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const wire = require('../generated/runtime.cjs') as {
  u64ToWire(v: unknown, where: string): unknown;
  u64FromWire(v: unknown): bigint;
  u32(v: unknown, where: string): number;
  i32(v: unknown, where: string): number;
};

const PbEnvelope = mteperm.events.v1.Envelope;
// One writer reused for every encode. protobufjs' finish() copies the bytes out but does not clear
// the writer, so it is reset after each use.
const writer = PbEnvelope.encode({}).reset();

/**
 * Encodes one event as a protobuf Envelope. Every field is checked against the schema first
 * (a bigint where a 64-bit field is due, integers in range, known enum names): protobufjs itself
 * would silently write 0 for a bigint.
 */
export function encodeEnvelope(header: Omit<EventHeader, 'schema'> & { readonly schema?: number }, event: MteEvent): Uint8Array {
  // The generated fast path writes the same bytes as protobufjs; it leaves anything unusual (a
  // non-ASCII string, an unknown event type) to the general path below, which also words errors.
  try {
    const bytes = encodeFast(header, event, SCHEMA_VERSION);
    fastTaken = true;
    return bytes;
  } catch (e) {
    if (e !== FALLBACK) throw new EventCodecError('MTEPERM_EVENT_FIELD', (e as Error).message);
  }
  fastTaken = false;
  return encodeGeneral(header, event);
}

// Whether the last encodeEnvelope took the fast path (whose lastData() is then the decoded body).
let fastTaken = false;

/**
 * Encodes one event and gives the envelope that decoding those bytes yields, without decoding them:
 * the same as `{ bytes, envelope: decodeEnvelope(bytes) }` for `bytes = encodeEnvelope(header, event)`
 * (same errors, an equal frozen envelope), at the cost of one encode. The bus publishes with it.
 */
export function encodeAndDecodeEnvelope(
  header: Omit<EventHeader, 'schema'> & { readonly schema?: number },
  event: MteEvent,
): { readonly bytes: Uint8Array; readonly envelope: Envelope } {
  const out = { bytes: EMPTY, envelope: undefined as unknown as Envelope };
  encodeAndDecodeEnvelopeInto(out, header, event);
  return out;
}

/** Where `encodeAndDecodeEnvelopeInto` leaves its result; hot paths reuse one. */
export interface EncodedEnvelope {
  bytes: Uint8Array;
  envelope: Envelope;
}

const EMPTY = new Uint8Array(0);

/** `encodeAndDecodeEnvelope` writing its result into `out` (the bus reuses one: no allocation for it). */
export function encodeAndDecodeEnvelopeInto(out: EncodedEnvelope, header: Omit<EventHeader, 'schema'> & { readonly schema?: number }, event: MteEvent): void {
  const bytes = encodeEnvelope(header, event);
  out.bytes = bytes;
  if (!fastTaken || (header.schema !== undefined && header.schema !== SCHEMA_VERSION)) {
    // protobufjs wrote the bytes (or another schema was asked for): a real decode of them
    out.envelope = decodeEnvelope(bytes);
    return;
  }
  // The fast path checked the header: seq and causation are bigints in range, vm and vcpu integers;
  // it built the body decoding would give while writing it.
  out.envelope = Object.freeze({
    seq: header.seq,
    vm: header.vm >>> 0,
    vcpu: header.vcpu | 0,
    causation: header.causation,
    schema: SCHEMA_VERSION,
    type: event.type,
    data: lastData(),
  }) as Envelope;
}

function encodeGeneral(header: Omit<EventHeader, 'schema'> & { readonly schema?: number }, event: MteEvent): Uint8Array {
  let body: object;
  let w: Record<string, unknown>;
  try {
    body = bodyToWire(event);
    w = {
      seq: wire.u64ToWire(header.seq, 'Envelope.seq'),
      vm: wire.u32(header.vm, 'Envelope.vm'),
      vcpu: wire.i32(header.vcpu, 'Envelope.vcpu'),
      causation: wire.u64ToWire(header.causation, 'Envelope.causation'),
      schema: wire.u32(header.schema ?? SCHEMA_VERSION, 'Envelope.schema'),
    };
  } catch (e) {
    throw new EventCodecError('MTEPERM_EVENT_FIELD', (e as Error).message);
  }
  w[BODY_FIELD[event.type]] = body;
  try {
    return PbEnvelope.encode(w as mteperm.events.v1.IEnvelope, writer).finish();
  } finally {
    writer.reset();
  }
}

/** Encodes an already-formed envelope (header and body together), e.g. one read back from a log. */
export function encodeEvent(envelope: Envelope): Uint8Array {
  return encodeEnvelope(envelope, envelope);
}

/**
 * Decodes one Envelope into a frozen edge object with bigint 64-bit fields. Throws
 * EventCodecError on malformed bytes, a missing body, an unknown enum value, or a schema
 * version this build cannot read.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  return decodeEnvelopeAt(bytes, 0, bytes.length);
}

/**
 * `decodeEnvelope` of bytes[start, end) without making a view of them first: a log reader decodes
 * each record in place in its chunk.
 */
export function decodeEnvelopeAt(buffer: Uint8Array, start: number, end: number): Envelope {
  let fast: Envelope | undefined;
  try {
    fast = decodeFast(buffer, SCHEMA_VERSION, start, end) as Envelope;
  } catch (e) {
    if (e !== FALLBACK) throw e;
  }
  if (fast !== undefined) {
    const schema = lastSchema();
    if (schema >= MIN_READABLE_SCHEMA_VERSION && schema <= SCHEMA_VERSION) return fast;
  }
  return decodeGeneral(buffer.subarray(start, end));
}

function decodeGeneral(bytes: Uint8Array): Envelope {
  let m: mteperm.events.v1.Envelope;
  try {
    m = PbEnvelope.decode(bytes);
  } catch (e) {
    throw new EventCodecError('MTEPERM_EVENT_DECODE', `malformed envelope: ${(e as Error).message}`);
  }
  if (m.schema < MIN_READABLE_SCHEMA_VERSION || m.schema > SCHEMA_VERSION) {
    throw new EventCodecError(
      'MTEPERM_EVENT_SCHEMA',
      `event schema version ${m.schema} is not readable by this build (reads ${MIN_READABLE_SCHEMA_VERSION}..${SCHEMA_VERSION})`,
    );
  }
  let event: MteEvent;
  try {
    event = bodyFromWire(m);
  } catch (e) {
    throw new EventCodecError('MTEPERM_EVENT_DECODE', `malformed envelope: ${(e as Error).message}`);
  }
  return Object.freeze({
    seq: wire.u64FromWire(m.seq),
    vm: m.vm,
    vcpu: m.vcpu,
    causation: wire.u64FromWire(m.causation),
    schema: SCHEMA_VERSION,
    type: event.type,
    data: event.data,
  }) as Envelope;
}
