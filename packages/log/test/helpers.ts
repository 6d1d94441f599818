import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeEnvelope, encodeEnvelope, NO_VCPU, SCHEMA_VERSION } from '@mteperm/events';
import { SAMPLE_EVENT_LIST } from '@mteperm/events/testing';
import { crc32c } from '../src/crc32c';
import { encodeLogHeader } from '../src/format';

/**
 * A fresh folder under the OS temp dir, created on first use (Jest skips afterAll in a file whose
 * tests are all filtered out, so an eager folder would be left behind); removed by `cleanup`.
 */
export function tempDir(): { file(name: string): string; cleanup(): void } {
  let dir: string | undefined;
  return {
    file: (name) => path.join((dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mteperm-log-'))), name),
    cleanup: () => {
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Encoded envelopes with dense seq from 1, cycling through the sample of every event kind. */
export function sampleEnvelopes(n: number, pick: (i: number) => number = (i) => i): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const event = SAMPLE_EVENT_LIST[pick(i) % SAMPLE_EVENT_LIST.length]!;
    out.push(encodeEnvelope({ seq: BigInt(i + 1), vm: 1, vcpu: i % 3 === 0 ? NO_VCPU : i % 4, causation: BigInt(i) }, event));
  }
  return out;
}

export const TEST_HEADER = { schemaVersion: SCHEMA_VERSION, profile: 'v2', producer: 'test 1.0' } as const;
/** 12 fixed + 4 schema + 1+2 "v2" + 1+8 "test 1.0" + 4 CRC. */
export const TEST_HEADER_BYTES = 32;

/** Frames one record by the FORMAT.md rule, independently of the writer. */
export function frame(envelope: Uint8Array): Buffer {
  const prefix: number[] = [];
  let v = envelope.length;
  do {
    prefix.push((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    v = Math.floor(v / 128);
  } while (v > 0);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32c(envelope));
  return Buffer.concat([Buffer.from(prefix), envelope, crc]);
}

/**
 * The FORMAT.md end mark built by hand: 0x00, u64 LE record count, the 32-byte state hash (zeros
 * for none), CRC32C LE of those 41 bytes.
 */
export function endMark(records: number, stateHash?: Uint8Array): Buffer {
  const b = Buffer.alloc(45);
  b.writeBigUInt64LE(BigInt(records), 1);
  if (stateHash !== undefined) b.set(stateHash, 9);
  b.writeUInt32LE(crc32c(b.subarray(0, 41)), 41);
  return b;
}

/**
 * A whole log image built by hand: header, the framed records with each record's [start, end), and
 * (format 2, the default) the end mark at `markAt`. `endMarked: false` leaves the mark out (an
 * unfinished format-2 log, or with `formatVersion: 1` an old log).
 */
export function logImage(
  envelopes: readonly Uint8Array[],
  header: Parameters<typeof encodeLogHeader>[0] = TEST_HEADER,
  options: { endMarked?: boolean; stateHash?: Uint8Array } = {},
): {
  bytes: Buffer;
  bounds: { start: number; end: number }[];
  markAt: number;
} {
  const parts: Buffer[] = [encodeLogHeader(header, 'test')];
  const bounds: { start: number; end: number }[] = [];
  let at = parts[0]!.length;
  for (const e of envelopes) {
    const f = frame(e);
    bounds.push({ start: at, end: at + f.length });
    at += f.length;
    parts.push(f);
  }
  if ((options.endMarked ?? true) && (header.formatVersion ?? 2) >= 2) parts.push(endMark(envelopes.length, options.stateHash ?? recordedHash(envelopes.at(-1))));
  return { bytes: Buffer.concat(parts), bounds, markAt: at };
}

/** The digest a StateHashRecorded envelope carries (what the end mark repeats), else undefined. */
function recordedHash(envelope: Uint8Array | undefined): Uint8Array | undefined {
  if (envelope === undefined) return undefined;
  try {
    const e = decodeEnvelope(envelope);
    return e.type === 'StateHashRecorded' && e.data.sha256.length === 32 ? e.data.sha256 : undefined;
  } catch {
    return undefined;
  }
}

export function propsRuns(fallback = 300): number {
  const n = Number(process.env['MTEPERM_PROPS_RUNS']);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
