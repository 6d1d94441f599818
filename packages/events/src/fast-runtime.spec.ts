import Long from 'long';
import * as protobuf from 'protobufjs';
import * as rt from '../scripts/fast-runtime.cjs';

// The runtime that fast-codec.cjs inlines into generated/fast.js, tested on its own: every writer
// gives protobufjs' bytes, every reader reads them back, and anything off the fast path throws
// FALLBACK (the codec then takes protobufjs' path: fast-codec.spec.ts).

function written(write: () => void): Uint8Array {
  rt.startWriting();
  write();
  return rt.written();
}
function pbjs(write: (w: protobuf.Writer) => void): Uint8Array {
  const w = protobuf.Writer.create();
  write(w);
  return w.finish();
}
/** What `f` threw (FALLBACK is a frozen marker object, not an Error). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return 'nothing';
}
const long = (v: bigint, unsigned: boolean) => Long.fromString(v.toString(), unsigned);

describe('fast codec runtime: writers give protobufjs bytes', () => {
  const U64 = [0n, 1n, 0x7fn, 0x80n, 0x3fffn, 0x4000n, 0xffff_ffffn, 0x1_0000_0000n, (1n << 53n) - 1n, 1n << 53n, (1n << 64n) - 1n];
  it.each(U64)('uint64 %p', (v) => {
    expect(written(() => rt.wu64(v))).toEqual(pbjs((w) => w.uint64(long(v, true))));
  });

  const I64 = [0n, -1n, 1n, -(1n << 63n), (1n << 63n) - 1n, -0x8000_0000n];
  it.each(I64)('int64 and sint64 %p', (v) => {
    expect(written(() => rt.wi64(v))).toEqual(pbjs((w) => w.int64(long(v, false))));
    expect(written(() => rt.ws64(v))).toEqual(pbjs((w) => w.sint64(long(v, false))));
  });

  const I32 = [0, 1, -1, 0x7fff_ffff, -0x8000_0000, 300];
  it.each(I32)('int32 and sint32 %p', (v) => {
    expect(written(() => rt.wi32(v))).toEqual(pbjs((w) => w.int32(v)));
    expect(written(() => rt.ws32(v))).toEqual(pbjs((w) => w.sint32(v)));
  });

  it.each([0, 0x7f, 0x80, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER])('a safe integer as uint64 (wn) %p', (n) => {
    expect(written(() => rt.wn(n))).toEqual(pbjs((w) => w.uint64(long(BigInt(n), true))));
  });

  it('an ASCII string and bytes, length-prefixed', () => {
    expect(written(() => rt.wstr('vfio-bar-wb'))).toEqual(pbjs((w) => w.string('vfio-bar-wb')));
    expect(written(() => rt.wbytes(new Uint8Array([1, 2, 0xff])))).toEqual(pbjs((w) => w.bytes(new Uint8Array([1, 2, 0xff]))));
  });

  it.each([0, 1, 127, 128, 0x3fff, 0x4000, 0x1_0000])('a length-delimited part of %i bytes: its length fixed after (endDelim)', (n) => {
    const payload = new Uint8Array(n).map((_, i) => i & 0xff);
    const fast = written(() => {
      const at = rt.wstrOrPart(payload);
      rt.endDelim(at);
    });
    expect(fast).toEqual(pbjs((w) => w.bytes(payload)));
  });

  it('leaves a non-ASCII string and an over-full scratch to protobufjs (FALLBACK)', () => {
    expect(thrown(() => written(() => rt.wstr('naïve')))).toBe(rt.FALLBACK);
    expect(thrown(() => written(() => rt.room(2 << 20)))).toBe(rt.FALLBACK);
  });
});

describe('fast codec runtime: readers', () => {
  const read = <T>(bytes: Uint8Array, f: (end: number) => T): [T, number] => {
    rt.startReading(bytes);
    return [f(bytes.length), rt.readOffset()];
  };

  it('read back what the writers wrote, and stop at the end of the value', () => {
    for (const v of [0n, 0x80n, 1n << 53n, (1n << 64n) - 1n]) expect(read(written(() => rt.wu64(v)), rt.ru64)).toEqual([v, written(() => rt.wu64(v)).length]);
    for (const v of [-1n, -(1n << 63n), 12345n]) expect(read(written(() => rt.ws64(v)), rt.rs64)[0]).toBe(v);
    for (const v of [-1n, (1n << 63n) - 1n]) expect(read(written(() => rt.wi64(v)), rt.ri64)[0]).toBe(v);
    for (const v of [0, -5, 0x7fff_ffff]) expect(read(written(() => rt.ws32(v)), rt.rs32)[0]).toBe(v);
    expect(read(written(() => rt.wstr('stg')), rt.rstr)).toEqual(['stg', 4]);
    expect(read(new Uint8Array([3, 9, 8, 7]), rt.rbytes)[0]).toEqual(new Uint8Array([9, 8, 7]));
    expect(read(new Uint8Array([1]), rt.rbool)[0]).toBe(true);
  });

  it('leave truncated input, a varint over 32 bits for a 32-bit field and a non-ASCII string to protobufjs (FALLBACK)', () => {
    expect(thrown(() => read(new Uint8Array([0x80]), rt.rv32))).toBe(rt.FALLBACK);
    expect(thrown(() => read(written(() => rt.wi32(-1)), rt.rv32))).toBe(rt.FALLBACK);
    expect(thrown(() => read(new Uint8Array([5, 1, 2]), rt.rlen))).toBe(rt.FALLBACK);
    expect(thrown(() => read(new Uint8Array([2, 0xc3, 0xaf]), rt.rstr))).toBe(rt.FALLBACK);
  });
});

describe('fast codec runtime: checks refuse with the messages of runtime.cjs', () => {
  it.each([
    ['Stage2Mapped.ipa: expected bigint in [0, 2^64), got -1n', () => rt.cu64(-1n, 'Stage2Mapped.ipa')],
    ['Stage2Mapped.ipa: expected bigint in [0, 2^64), got number 5', () => rt.cu64(5, 'Stage2Mapped.ipa')],
    ['x: expected bigint in [-2^63, 2^63), got 9223372036854775808n', () => rt.cs64(1n << 63n, 'x')],
    ['VmCreated.ipa_bits: expected integer in [0, 2^32), got number -1', () => rt.cu32(-1, 'VmCreated.ipa_bits')],
    ['VmCreated.ret: expected integer in [-2^31, 2^31), got number 2147483648', () => rt.ci32(2 ** 31, 'VmCreated.ret')],
    ['b: expected boolean, got string yes', () => rt.cbool('yes', 'b')],
    ['s: expected string, got null', () => rt.cstr(null, 's')],
    ['m: expected object, got null', () => rt.cmsg(null, 'm')],
    ['AccessRequested.op: expected one of stg, got string stz2g', () => rt.cenum(new Map([['stg', 5]]), 'stz2g', 'AccessRequested.op')],
  ])('%s', (message, check) => {
    expect(check).toThrow(new TypeError(message));
  });

  it('an array with a hole goes to protobufjs (FALLBACK)', () => {
    expect(thrown(() => rt.carr([1, undefined], 'a'))).toBe(rt.FALLBACK);
    expect(() => rt.carr([1n], 'a')).not.toThrow();
  });
});
