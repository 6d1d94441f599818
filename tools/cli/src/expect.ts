import type { ContractResult, JsonValue, ScenarioExpectation } from '@mteperm/runtime';

const NUMBER = /^(0[xX][0-9a-fA-F]+|[0-9]+)$/;

/** Numbers are compared by value whatever their spelling ("0x10", "0X10", "16"). */
function same(want: JsonValue, got: unknown): boolean {
  if (want === null || typeof want !== 'object') {
    if (typeof want === 'string' && typeof got === 'string' && NUMBER.test(want) && NUMBER.test(got)) return BigInt(want) === BigInt(got);
    if (typeof want === 'number' && typeof got === 'string' && NUMBER.test(got)) return BigInt(want) === BigInt(got);
    return want === got;
  }
  if (Array.isArray(want)) return Array.isArray(got) && want.length === got.length && want.every((w, i) => same(w, got[i]));
  if (got === null || typeof got !== 'object') return false;
  return Object.entries(want).every(([k, w]) => same(w as JsonValue, (got as Record<string, unknown>)[k]));
}

/** The `expect` entries the result does not satisfy, each as one line (CONTRACT §1, exit status 1). */
export function unmetExpectations(result: Pick<ContractResult, 'steps'>, expectations: readonly ScenarioExpectation[]): string[] {
  const lines: string[] = [];
  for (const e of expectations) {
    const got = result.steps[e.index];
    if (!same(e.match as JsonValue, got)) {
      lines.push(`expect[index ${e.index}]: wanted ${JSON.stringify(e.match)}, got ${JSON.stringify(got)}`);
    }
  }
  return lines;
}
