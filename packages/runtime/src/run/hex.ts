/** Every number in the JSON result is a lower-case hex string (CONTRACT §3). */
export function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}
