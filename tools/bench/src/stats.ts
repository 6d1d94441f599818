/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nanoseconds since an arbitrary origin, as a number (hrtime is monotonic, unlike Date). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}
