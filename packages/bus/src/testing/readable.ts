/**
 * Event bodies as Jest should show them: every bigint becomes the string `0x…n` (negative `-0x…n`), so a
 * failing comparison of an ESR or a descriptor reads as the hex that DOMAIN.md writes, not as a
 * 20-digit decimal. Asymmetric matchers (`expect.anything()`, `expect.objectContaining(...)`) are kept as
 * they are; byte arrays become hex strings too.
 */
export function readable(value: unknown): unknown {
  if (typeof value === 'bigint') return value < 0n ? `-0x${(-value).toString(16)}n` : `0x${value.toString(16)}n`;
  if (value === null || typeof value !== 'object') return value;
  if (isAsymmetricMatcher(value)) return value;
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(readable);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = readable(v);
  return out;
}

function isAsymmetricMatcher(value: object): boolean {
  return typeof (value as { asymmetricMatch?: unknown }).asymmetricMatch === 'function';
}
