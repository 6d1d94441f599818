import { gzipSync } from 'node:zlib';
import type { Envelope } from '@mteperm/events';
import type { LeafResult } from '@mteperm/runtime';

/**
 * The data a `view` page embeds, made from the log alone. Events are columns (one typed array per
 * field, gzip-compressed together, base64 in the page) and a text column of each event's values
 * under its type's field names: a 1 M-event log stays a few MB and loads in the browser without a
 * JSON parse of a million objects. Layout of the decompressed blob (little-endian):
 *   "MTEV" | u32 meta length | meta JSON | pad to 8 | f64 addr[n] | u32 seqDelta[n] |
 *   u32 causationDelta[n] | i32 vcpu[n] | u8 type[n] | details (UTF-8, one line per event)
 * addr is the event's guest address (gpa/ipa; NaN for none), seqDelta seq minus the previous
 * seq, causationDelta seq minus causation (0 for none). A detail line holds the values separated
 * by U+001F in the order of `keys[type]`, or U+001E and JSON when an event has other fields.
 */
export interface PageMeta {
  readonly log: string;
  readonly scenario: string | null;
  readonly kernel: string;
  readonly producer: string;
  readonly format_version: number;
  readonly schema_version: number;
  readonly policies: readonly string[];
  readonly events: number;
  readonly state: { readonly recorded_sha256: string | null; readonly rebuilt_sha256: string; readonly matches: boolean | null };
  readonly damage: { readonly offset: number; readonly code: string; readonly reason: string } | null;
  readonly memslots: readonly { slot: number; guest_phys_addr: string; memory_size: string; backing: string; mte_allowed: boolean }[];
  readonly stage2: readonly LeafResult[];
  readonly shadow_stage2: readonly LeafResult[];
  /** Event type names; the type column indexes this. */
  readonly types: readonly string[];
  /** Field names of each type, in the order of its detail values. */
  readonly keys: readonly (readonly string[])[];
}

/** The guest address an event is about, for the IPA search (host PAs are not searched). */
const ADDRESS_FIELDS = ['gpa', 'ipa', 'guest_phys_addr', 'phys_addr', 'fault_ipa', 'guest_ipa'] as const;

function text(v: unknown): string {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (typeof v === 'string') return v.replace(/[\n\r\x1e\x1f]/g, ' ');
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x)) ?? '';
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** Folds envelopes into columns; `finish` gives the compressed blob. Memory grows ~20 bytes + a detail line per event. */
export class PageColumns {
  private n = 0;
  private addr = new Float64Array(1024);
  private seqDelta = new Uint32Array(1024);
  private causationDelta = new Uint32Array(1024);
  private vcpu = new Int32Array(1024);
  private type = new Uint8Array(1024);
  private readonly details: string[] = [];
  private lastSeq = 0n;
  private readonly typeIds = new Map<string, number>();
  readonly types: string[] = [];
  readonly keys: string[][] = [];

  get count(): number {
    return this.n;
  }

  add(e: Envelope): void {
    if (this.n === this.addr.length) this.grow();
    const i = this.n++;
    let t = this.typeIds.get(e.type);
    const data = e.data as unknown as Record<string, unknown>;
    const keys = Object.keys(data);
    if (t === undefined) {
      t = this.types.length;
      if (t > 255) throw new Error('more than 256 event types: the type column is one byte');
      this.typeIds.set(e.type, t);
      this.types.push(e.type);
      this.keys.push(keys);
    }
    this.type[i] = t;
    this.vcpu[i] = e.vcpu;
    this.seqDelta[i] = Number(e.seq - this.lastSeq);
    this.lastSeq = e.seq;
    this.causationDelta[i] = e.causation === 0n ? 0 : Number(e.seq - e.causation);
    let a = Number.NaN;
    for (const f of ADDRESS_FIELDS) {
      const v = data[f];
      if (typeof v === 'bigint') {
        a = Number(v);
        break;
      }
    }
    this.addr[i] = a;
    this.details.push(sameKeys(keys, this.keys[t] as string[]) ? keys.map((k) => text(data[k])).join('\x1f') : `\x1e${text(data)}`);
  }

  private grow(): void {
    const cap = this.addr.length * 2;
    const g = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.addr = g(this.addr, (n) => new Float64Array(n));
    this.seqDelta = g(this.seqDelta, (n) => new Uint32Array(n));
    this.causationDelta = g(this.causationDelta, (n) => new Uint32Array(n));
    this.vcpu = g(this.vcpu, (n) => new Int32Array(n));
    this.type = g(this.type, (n) => new Uint8Array(n));
  }

  /** The gzip-compressed blob described above. */
  finish(meta: Omit<PageMeta, 'types' | 'keys' | 'events'>): Buffer {
    const n = this.n;
    const metaBytes = Buffer.from(JSON.stringify({ ...meta, events: n, types: this.types, keys: this.keys }), 'utf8');
    const head = 8 + metaBytes.length;
    const padded = Math.ceil(head / 8) * 8;
    const fixed = Buffer.alloc(padded + n * (8 + 4 + 4 + 4 + 1));
    fixed.write('MTEV', 0, 'latin1');
    fixed.writeUInt32LE(metaBytes.length, 4);
    metaBytes.copy(fixed, 8);
    let o = padded;
    for (const col of [this.addr.subarray(0, n), this.seqDelta.subarray(0, n), this.causationDelta.subarray(0, n), this.vcpu.subarray(0, n), this.type.subarray(0, n)]) {
      const bytes = Buffer.from(col.buffer, col.byteOffset, col.byteLength);
      bytes.copy(fixed, o);
      o += bytes.length;
    }
    const details = Buffer.from(this.details.join('\n'), 'utf8');
    return gzipSync(Buffer.concat([fixed, details]), { level: 6 });
  }
}
