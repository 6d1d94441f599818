import fc from 'fast-check';
import { ScenarioError, parseScenario } from '../index';
import { U64_MAX, readU64 } from './numbers';

const NUM_RUNS = Number(process.env.MTEPERM_PROPS_RUNS ?? '') || 300;

/** A scenario whose one step has `value` as set_user_memory_region.memory_size (raw JSON text). */
const withSize = (valueText: string): string =>
  `{"name":"n","host":{"cpus":[{"features":["mte2"]}]},"steps":[{"set_user_memory_region":` +
  `{"slot":0,"guest_phys_addr":"0x0","memory_size":${valueText},"backing":"anon"}}]}`;

function memorySize(valueText: string, format: 'json' | 'yaml'): bigint {
  const step = parseScenario(withSize(valueText), { file: `n.${format}` }).steps[0]!;
  if (step.op !== 'set_user_memory_region') throw new Error('unexpected step');
  return step.memory_size;
}

describe('64-bit numbers and sizes (CONTRACT §1, §3 number conventions)', () => {
  it.each<[string, bigint]>([
    ['"4KiB"', 4096n],
    ['"2MiB"', 0x20_0000n],
    ['"1GiB"', 0x4000_0000n],
    ['"1TiB"', 1n << 40n],
    ['"0KiB"', 0n],
    ['"0x10000000"', 0x1000_0000n],
    ['"0XABCdef"', 0xab_cdefn],
    ['"0x0000000000000000000000001"', 1n],
    ['"4096"', 4096n],
    ['"007"', 7n],
    ['"18446744073709551615"', U64_MAX],
    ['"0xffffffffffffffff"', U64_MAX],
    ['"16777215TiB"', 16_777_215n << 40n],
    ['4096', 4096n],
    ['9007199254740991', 9_007_199_254_740_991n],
    ['0', 0n],
  ])('accepts %s as %p', (text, value) => {
    expect(memorySize(text, 'json')).toBe(value);
    expect(memorySize(text, 'yaml')).toBe(value);
  });

  it.each<[string, string]>([
    ['"18446744073709551616"', '"18446744073709551616" is out of range (more than 64 bits)'],
    ['"0x10000000000000000"', '"0x10000000000000000" is out of range (more than 64 bits)'],
    ['"16777216TiB"', '"16777216TiB" is out of range (more than 64 bits)'],
    ['"0x"', '"0x" is not a number (use 0x.., decimal, or a size like 2MiB)'],
    ['"12abc"', '"12abc" is not a number (use 0x.., decimal, or a size like 2MiB)'],
    ['""', '"" is not a number (use 0x.., decimal, or a size like 2MiB)'],
    ['" 4096"', '" 4096" is not a number (use 0x.., decimal, or a size like 2MiB)'],
    ['"-1"', '"-1" is not a number (use 0x.., decimal, or a size like 2MiB)'],
    ['"4KB"', '"4KB" is not a number (use 0x.., decimal, or a size like 2MiB)'],
    ['"4kib"', '"4kib" is not a number (use 0x.., decimal, or a size like 2MiB)'],
    ['"0x10MiB"', '"0x10MiB" is not a number (use 0x.., decimal, or a size like 2MiB)'],
    ['"1.5GiB"', '"1.5GiB" is not a number (use 0x.., decimal, or a size like 2MiB)'],
    ['-1', '-1 is negative (expected 0..2^64-1)'],
    ['1.5', '1.5 is not an integer'],
    ['1e3', '1000 is written as a floating-point number; write an integer'],
    ['9007199254740992', '9007199254740992 is beyond 2^53-1 as a bare number; quote it ("0x.." or a decimal string)'],
    ['true', 'expected a number (use 0x.., decimal, or a size like 2MiB), got true'],
    ['null', 'expected a number (use 0x.., decimal, or a size like 2MiB), got null'],
    ['[4096]', 'expected a number (use 0x.., decimal, or a size like 2MiB), got a list'],
  ])('refuses %s', (text, problem) => {
    for (const format of ['json', 'yaml'] as const) {
      expect(() => memorySize(text, format)).toThrow(
        `n.${format}: steps[0].set_user_memory_region.memory_size: ${problem}`,
      );
    }
  });

  it('round-trips every u64 through hex and decimal strings', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: U64_MAX }), (n) => {
        expect(readU64(`0x${n.toString(16)}`, { sizes: false })).toEqual({ ok: true, value: n });
        expect(readU64(n.toString(), { sizes: true })).toEqual({ ok: true, value: n });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  // Strings shaped like numbers, so the property reaches the range checks and not only the syntax ones.
  const numberish = fc.oneof(
    fc.bigInt({ min: 0n, max: 1n << 70n }).map((n) => `0x${n.toString(16)}`),
    fc.bigInt({ min: 0n, max: 1n << 70n }).map(String),
    fc.tuple(fc.bigInt({ min: 0n, max: 1n << 30n }), fc.constantFrom('KiB', 'MiB', 'GiB', 'TiB', 'kB', 'B', '')).map(([n, u]) => `${n}${u}`),
    fc.stringMatching(/^(0[xX])?[0-9a-fA-F_ .+-]{0,24}$/),
  );
  const anyJson = fc.oneof(fc.jsonValue(), numberish, fc.string(), fc.double(), fc.bigInt({ min: -(1n << 80n), max: 1n << 80n }));

  it('any JSON value in a number field parses in range or raises MTEPERM_SCENARIO_FIELD, in both formats', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        // bigints are written as bare integer literals, the way a file would carry them.
        const text = typeof value === 'bigint' ? value.toString() : JSON.stringify(value) ?? 'null';
        const outcomes = (['json', 'yaml'] as const).map((format) => {
          try {
            const n = memorySize(text, format);
            expect(n >= 0n && n <= U64_MAX).toBe(true);
            return `ok ${n}`;
          } catch (e) {
            expect(e).toBeInstanceOf(ScenarioError);
            expect((e as ScenarioError).code).toBe('MTEPERM_SCENARIO_FIELD');
            return 'refused';
          }
        });
        expect(outcomes[1]).toBe(outcomes[0]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('readU64 never throws on any value', () => {
    fc.assert(
      fc.property(fc.oneof(anyJson, fc.constant(Number.NaN), fc.constant(-Infinity)), (value) => {
        const r = readU64(value as never, { sizes: true });
        if (r.ok) expect(r.value >= 0n && r.value <= U64_MAX).toBe(true);
        else expect(r.problem).not.toMatch(/\n/);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
