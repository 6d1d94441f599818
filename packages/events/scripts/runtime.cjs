// Checked field conversions used by the generated union.js (copied next to it by codegen).
// protobufjs silently writes 0 for a bigint or an out-of-range number; every edge value is checked
// here so that an event either encodes exactly or is refused with the field's name.
'use strict';
const Long = require('long');

const TWO64 = 1n << 64n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function fail(where, what, v) {
  const got = typeof v === 'bigint' ? `${v}n` : typeof v === 'object' ? (v === null ? 'null' : 'object') : `${typeof v} ${String(v)}`;
  throw new TypeError(`${where}: expected ${what}, got ${got}`);
}

function u64ToWire(v, where) {
  if (typeof v !== 'bigint' || v < 0n || v >= TWO64) fail(where, 'bigint in [0, 2^64)', v);
  return Long.fromBits(Number(v & 0xffffffffn), Number(v >> 32n), true);
}
function s64ToWire(v, where) {
  if (typeof v !== 'bigint' || v < I64_MIN || v > I64_MAX) fail(where, 'bigint in [-2^63, 2^63)', v);
  return Long.fromBits(Number(BigInt.asUintN(32, v)), Number(BigInt.asUintN(32, v >> 32n)), false);
}
function u64FromWire(l) {
  if (typeof l === 'number') return BigInt(l);
  const hi = l.high >>> 0;
  const lo = BigInt(l.low >>> 0);
  return hi === 0 ? lo : (BigInt(hi) << 32n) | lo;
}
function s64FromWire(l) {
  if (typeof l === 'number') return BigInt(l);
  return BigInt.asIntN(64, (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0));
}
function u32(v, where) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(where, 'integer in [0, 2^32)', v);
  return v;
}
function i32(v, where) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) fail(where, 'integer in [-2^31, 2^31)', v);
  return v;
}
function bool(v, where) {
  if (typeof v !== 'boolean') fail(where, 'boolean', v);
  return v;
}
function str(v, where) {
  if (typeof v !== 'string') fail(where, 'string', v);
  return v;
}
function bytes(v, where) {
  if (!(v instanceof Uint8Array)) fail(where, 'Uint8Array', v);
  return v;
}
function num(v, where) {
  if (typeof v !== 'number') fail(where, 'number', v);
  return v;
}
function arr(v, where) {
  if (!Array.isArray(v)) fail(where, 'array', v);
  return v;
}
function msg(v, where) {
  if (v === null || typeof v !== 'object') fail(where, 'object', v);
}
function need(m, where) {
  if (m === null || m === undefined) throw new TypeError(`${where}: missing message`);
}
function enumToWire(table, v, where) {
  const n = table.get(v);
  if (n === undefined) fail(where, `one of ${[...table.keys()].join(', ')}`, v);
  return n;
}
function enumFromWire(table, n, where) {
  const s = table.get(n);
  if (s === undefined) throw new TypeError(`${where}: unknown enum value ${n}`);
  return s;
}

module.exports = { fail, u64ToWire, s64ToWire, u64FromWire, s64FromWire, u32, i32, bool, str, bytes, num, arr, msg, enumToWire, enumFromWire, need };
