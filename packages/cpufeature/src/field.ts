/** ID register fields are 4 bits wide (Arm ARM D24.1.3, "the ID scheme"); registers are 64-bit. */
export const FIELD_WIDTH = 4;
const FIELD_MASK = 0xfn;
const REG_MASK = (1n << 64n) - 1n;

/** The 4-bit field at `shift` of a 64-bit register value. */
export function getField(reg: bigint, shift: number): number {
  return Number((reg >> BigInt(shift)) & FIELD_MASK);
}

/** `reg` with the 4-bit field at `shift` replaced by `value` (0..15). */
export function setField(reg: bigint, shift: number, value: number): bigint {
  if (!Number.isInteger(value) || value < 0 || value > 0xf) throw new RangeError(`field value ${value} does not fit 4 bits`);
  const s = BigInt(shift);
  return ((reg & ~(FIELD_MASK << s)) | (BigInt(value) << s)) & REG_MASK;
}

/** A field value the register description names, or `reserved` for any other value. */
export type NamedValue<N extends string> = { readonly name: N; readonly value: number } | { readonly name: 'reserved'; readonly value: number };

/** Decodes a field against its table of named values; unlisted values are `reserved`. */
export function nameValue<N extends string>(table: Readonly<Record<number, N>>, value: number): NamedValue<N> {
  const name = table[value];
  return name === undefined ? { name: 'reserved', value } : { name, value };
}
