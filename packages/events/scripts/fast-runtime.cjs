// @ts-check
// The runtime of the generated fast codec (generated/fast.js): varint and length-delimited writers
// over one scratch buffer, the field checks (with the messages of runtime.cjs), and the readers.
// An ordinary source file, type-checked and tested (fast-runtime.spec.ts), that fast-codec.cjs
// inlines at codegen time between the region markers below: the generated writers index `S` and
// `p` directly, which is only as fast as it is when they are bindings of the same module.
'use strict';
const runtime = require('./runtime.cjs');
// runtime.cjs' fail always throws; saying so lets the checks below narrow their argument.
/** @type {(where: string, what: string, v: unknown) => never} */
const fail = /** @type {any} */ (runtime.fail);

// #region fast-runtime: everything to #endregion is copied into generated/fast.js as it is.
const FALLBACK = Object.freeze({ fallback: true });
exports.FALLBACK = FALLBACK;
const TWO64 = 1n << 64n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const SAFE = 9007199254740991n;

// ---------------------------------------------------------------- writing
// One fixed scratch, never replaced: V8 folds a const typed array into the writers (its base and
// length), which a reassignable one prevents (about 10% of the whole pipeline). An envelope that
// does not fit (over 1 MiB) is left to protobufjs.
const S = new Uint8Array(1 << 20);
let p = 0;
/** @param {number} n */
function room(n) {
  if (p + n > S.length) throw FALLBACK;
}
/** @param {number} v */
function wv32(v) {
  // v: unsigned 32-bit
  while (v > 0x7f) {
    S[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  S[p++] = v;
}
/** @param {number} lo @param {number} hi */
function wv64(lo, hi) {
  while (hi !== 0 || lo > 0x7f) {
    S[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  S[p++] = lo;
}
/** @param {bigint} v */
function wu64(v) {
  if (v <= SAFE) {
    const n = Number(v);
    if (n < 0x80) {
      S[p++] = n;
      return;
    }
    const lo = n >>> 0;
    wv64(lo, (n - lo) / 4294967296);
  } else {
    wv64(Number(v & 0xffffffffn), Number(v >> 32n));
  }
}
/** @param {number} n */
function wn(n) {
  // n: an integer in [0, 2^53)
  if (n <= 0xffffffff) {
    while (n > 0x7f) {
      S[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    S[p++] = n;
    return;
  }
  const lo = n >>> 0;
  wv64(lo, (n - lo) / 4294967296);
}
/** @param {number} v */
function wi32(v) {
  // int32 / enum: negative values take ten bytes, sign-extended
  if (v >= 0) wv32(v);
  else wv64(v >>> 0, 0xffffffff);
}
/** @param {number} v */
function ws32(v) {
  wv32(((v << 1) ^ (v >> 31)) >>> 0);
}
/** @param {bigint} v */
function wi64(v) {
  wu64(v < 0n ? v + TWO64 : v);
}
/** @param {bigint} v */
function ws64(v) {
  wu64(v < 0n ? -2n * v - 1n : 2n * v);
}
/** @param {string} s */
function wstr(s) {
  const n = s.length;
  room(n + 5);
  wv32(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) throw FALLBACK; // protobufjs' own UTF-8 writer decides the bytes of anything else
    S[p++] = c;
  }
}
/** @param {Uint8Array} b */
function wbytes(b) {
  room(b.length + 5);
  wv32(b.length);
  S.set(b, p);
  p += b.length;
}
// A length-delimited part: reserve one byte for its length, write it, then fix the length (moving
// the part when the length needs more than one byte).
/** @param {number} at */
function endDelim(at) {
  const len = p - at - 1;
  if (len < 0x80) {
    S[at] = len;
    return;
  }
  const extra = len < 0x4000 ? 1 : len < 0x200000 ? 2 : len < 0x10000000 ? 3 : 4;
  room(extra);
  S.copyWithin(at + 1 + extra, at + 1, p);
  const end = p + extra;
  p = at;
  wv32(len);
  p = end;
}

// Checks, with the messages of runtime.cjs.
/** @param {unknown} v @param {string} where */
function cu64(v, where) {
  if (typeof v !== 'bigint' || v < 0n || v >= TWO64) fail(where, 'bigint in [0, 2^64)', v);
}
/** @param {unknown} v @param {string} where */
function cs64(v, where) {
  if (typeof v !== 'bigint' || v < I64_MIN || v > I64_MAX) fail(where, 'bigint in [-2^63, 2^63)', v);
}
/** @param {unknown} v @param {string} where */
function cu32(v, where) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(where, 'integer in [0, 2^32)', v);
}
/** @param {unknown} v @param {string} where */
function ci32(v, where) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) fail(where, 'integer in [-2^31, 2^31)', v);
}
/** @param {unknown} v @param {string} where */
function cbool(v, where) {
  if (typeof v !== 'boolean') fail(where, 'boolean', v);
}
/** @param {unknown} v @param {string} where */
function cstr(v, where) {
  if (typeof v !== 'string') fail(where, 'string', v);
}
/** @param {unknown} v @param {string} where */
function cbytes(v, where) {
  if (!(v instanceof Uint8Array)) fail(where, 'Uint8Array', v);
}
/** @param {unknown} v @param {string} where */
function carr(v, where) {
  if (!Array.isArray(v)) fail(where, 'array', v);
  // holes and other oddities: the general path decides
  for (let i = 0; i < v.length; i++) if (v[i] === undefined) throw FALLBACK;
}
/** @param {unknown} v @param {string} where */
function cmsg(v, where) {
  if (v === null || typeof v !== 'object') fail(where, 'object', v);
}
/** @param {ReadonlyMap<unknown, number>} table @param {unknown} v @param {string} where */
function cenum(table, v, where) {
  const n = table.get(v);
  if (n === undefined) fail(where, `one of ${[...table.keys()].join(', ')}`, v);
  return n;
}

// ---------------------------------------------------------------- reading
/** @type {Uint8Array} */
let B = new Uint8Array(0);
let q = 0;
/** @param {number} end */
function rv32(end) {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (q >= end) throw FALLBACK;
    const b = B[q++];
    if (shift === 28) {
      if (b > 0x0f) throw FALLBACK; // more than 32 bits (e.g. a negative int32): general path
      return (v | (b << 28)) >>> 0;
    }
    v |= (b & 0x7f) << shift;
    if (b < 0x80) return v >>> 0;
  }
  throw FALLBACK;
}
// Reads a varint up to 64 bits into lo / hi.
let lo = 0;
let hi = 0;
/** @param {number} end */
function rv64(end) {
  let l = 0;
  let h = 0;
  let b;
  for (let i = 0; i < 4; i++) {
    if (q >= end) throw FALLBACK;
    b = B[q++];
    l |= (b & 0x7f) << (i * 7);
    if (b < 0x80) {
      lo = l >>> 0;
      hi = 0;
      return;
    }
  }
  if (q >= end) throw FALLBACK;
  b = B[q++];
  l |= (b & 0x7f) << 28;
  h = (b & 0x7f) >> 4;
  if (b < 0x80) {
    lo = l >>> 0;
    hi = h;
    return;
  }
  for (let i = 0; i < 5; i++) {
    if (q >= end) throw FALLBACK;
    b = B[q++];
    h |= (b & 0x7f) << (i * 7 + 3);
    if (b < 0x80) {
      lo = l >>> 0;
      hi = h >>> 0;
      return;
    }
  }
  throw FALLBACK;
}
/** @param {number} end */
function ru64(end) {
  if (q < end && B[q] < 0x80) return BigInt(B[q++]);
  rv64(end);
  return hi < 0x200000 ? BigInt(hi * 4294967296 + lo) : (BigInt(hi) << 32n) | BigInt(lo);
}
/** @param {number} end */
function ri64(end) {
  return BigInt.asIntN(64, ru64(end));
}
/** @param {number} end */
function rs64(end) {
  const z = ru64(end);
  return (z & 1n) === 0n ? z >> 1n : -(z >> 1n) - 1n;
}
/** @param {number} end */
function ri32(end) {
  // int32 and enums as this build writes them (non-negative); a ten-byte negative value falls back
  return rv32(end) | 0;
}
/** @param {number} end */
function rs32(end) {
  const n = rv32(end);
  return (n >>> 1) ^ -(n & 1);
}
/** @param {number} end */
function rbool(end) {
  rv64(end);
  return lo !== 0 || hi !== 0;
}
/** @param {number} end */
function rlen(end) {
  const n = rv32(end);
  if (n > end - q) throw FALLBACK;
  return q + n;
}
/** @param {number} end */
function rstr(end) {
  const e = rlen(end);
  let s = '';
  while (q < e) {
    const c = B[q++];
    if (c > 0x7f) throw FALLBACK; // protobufjs' strict UTF-8 reader decides anything else
    s += String.fromCharCode(c);
  }
  return s;
}
/** @param {number} end */
function rbytes(end) {
  const e = rlen(end);
  const out = new Uint8Array(B.subarray(q, e));
  q = e;
  return out;
}
// #endregion fast-runtime

// What the specs reach; the generated module has its own copy of everything above and exports none of it.
module.exports = {
  FALLBACK, room, wv32, wv64, wu64, wn, wi32, ws32, wi64, ws64, wstr, wbytes, endDelim,
  cu64, cs64, cu32, ci32, cbool, cstr, cbytes, carr, cmsg, cenum,
  rv32, rv64, ru64, ri64, rs64, ri32, rs32, rbool, rlen, rstr, rbytes,
  /** Writes a length-delimited part's placeholder and its payload; returns the placeholder (for endDelim). */
  wstrOrPart(/** @type {Uint8Array} */ payload) {
    room(payload.length + 1);
    const at = p++;
    S.set(payload, p);
    p += payload.length;
    return at;
  },
  /** Starts writing at offset 0 of the scratch. */
  startWriting() {
    p = 0;
  },
  /** A copy of what was written since startWriting. */
  written() {
    return S.slice(0, p);
  },
  /** Starts reading `bytes` from offset 0. */
  startReading(/** @type {Uint8Array} */ bytes) {
    B = bytes;
    q = 0;
  },
  /** The read offset. */
  readOffset() {
    return q;
  },
  lastWord() {
    return { lo, hi };
  },
};
