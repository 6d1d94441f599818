import type { RawValue } from './raw';
import { describeValue } from './describe';

/** 2^64 - 1: addresses, sizes and register values are unsigned 64-bit. */
export const U64_MAX = (1n << 64n) - 1n;

const HEX = /^0[xX]([0-9a-fA-F]+)$/;
const DECIMAL = /^[0-9]+$/;
const SIZE = /^([0-9]+)(KiB|MiB|GiB|TiB)$/;
const SIZE_SHIFT: Record<string, bigint> = { KiB: 10n, MiB: 20n, GiB: 30n, TiB: 40n };

/** What the caller accepts: sizes and addresses take a binary-unit suffix, register values do not. */
export interface U64Syntax {
  readonly sizes: boolean;
}

/** Outcome of reading a 64-bit number: the value, or the problem text for the error message. */
export type U64Result = { readonly ok: true; readonly value: bigint } | { readonly ok: false; readonly problem: string };

const hint = (syntax: U64Syntax): string =>
  syntax.sizes ? 'use 0x.., decimal, or a size like 2MiB' : 'use 0x.. or decimal';

/** Integers come from parsers as bigint, so a JS number here was written with a fraction or exponent. */
export function floatProblem(v: number): string {
  return Number.isInteger(v) ? `${v} is written as a floating-point number; write an integer` : `${v} is not an integer`;
}

/**
 * Reads an unsigned 64-bit value: a safe integer literal, or a string `0x..` (any case), a decimal
 * string, or (when `sizes`) a decimal with a binary suffix KiB/MiB/GiB/TiB. Never throws.
 */
export function readU64(v: RawValue, syntax: U64Syntax): U64Result {
  if (typeof v === 'bigint') {
    if (v < 0n) return { ok: false, problem: `${v} is negative (expected 0..2^64-1)` };
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      return { ok: false, problem: `${v} is beyond 2^53-1 as a bare number; quote it ("0x.." or a decimal string)` };
    }
    return { ok: true, value: v };
  }
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v < 0) return { ok: false, problem: `${v} is negative (expected 0..2^64-1)` };
    return { ok: false, problem: floatProblem(v) };
  }
  if (typeof v !== 'string') {
    return { ok: false, problem: `expected a number (${hint(syntax)}), got ${describeValue(v)}` };
  }
  let value: bigint | undefined;
  const hex = HEX.exec(v);
  if (hex) {
    // Length checks before BigInt keep a 64 KiB digit string from costing anything.
    const digits = hex[1]!.replace(/^0+/, '');
    value = digits.length > 16 ? U64_MAX + 1n : BigInt(`0x${digits || '0'}`);
  } else if (DECIMAL.test(v)) {
    const digits = v.replace(/^0+/, '');
    value = digits.length > 20 ? U64_MAX + 1n : BigInt(digits || '0');
  } else {
    const size = syntax.sizes ? SIZE.exec(v) : null;
    if (size) {
      const digits = size[1]!.replace(/^0+/, '');
      value = digits.length > 20 ? U64_MAX + 1n : BigInt(digits || '0') << SIZE_SHIFT[size[2]!]!;
    }
  }
  if (value === undefined) return { ok: false, problem: `${describeValue(v)} is not a number (${hint(syntax)})` };
  if (value > U64_MAX) return { ok: false, problem: `${describeValue(v)} is out of range (more than 64 bits)` };
  return { ok: true, value };
}
