import { type RawMapping, type RawValue, isMapping } from './raw';
import { ScenarioError, fieldError, limitError } from './errors';
import { closest, describeValue, quote } from './describe';
import { type U64Syntax, floatProblem, readU64 } from './numbers';

/** Field paths as in messages: `steps[5].set_user_memory_region.memory_size`. */
export function child(path: string, key: string): string {
  const segment = /^[A-Za-z0-9_-]+$/.test(key) ? key : `[${quote(key)}]`;
  if (path === '') return segment;
  return segment.startsWith('[') ? `${path}${segment}` : `${path}.${segment}`;
}
export const item = (path: string, index: number): string => `${path}[${index}]`;

/** Validation state shared by the field readers: the file name that prefixes every message. */
export class FieldReader {
  constructor(readonly file: string) {}

  fail(path: string, problem: string): never {
    throw new ScenarioError(fieldError(this.file, path || '(document)', problem));
  }

  limit(path: string, problem: string): never {
    throw new ScenarioError(limitError(this.file, { field: path }, problem));
  }

  /** A mapping whose keys are all in `allowed`; `required` keys must be present. */
  mapping(v: RawValue, path: string, allowed: readonly string[], required: readonly string[] = []): RawMapping {
    if (!isMapping(v)) this.fail(path, `expected a mapping with keys ${allowed.join(', ')}; got ${describeValue(v)}`);
    for (const key of Object.keys(v)) {
      if (!allowed.includes(key)) this.unknown(child(path, key), 'key', key, allowed);
    }
    for (const key of required) {
      if (!Object.prototype.hasOwnProperty.call(v, key)) this.fail(child(path, key), 'required field is missing');
    }
    return v;
  }

  unknown(path: string, what: string, name: string, allowed: readonly string[]): never {
    const guess = closest(name, allowed);
    const hint = guess === undefined ? '' : ` (did you mean ${guess}?)`;
    return this.fail(path, `unknown ${what} ${quote(name)}${hint}; expected one of: ${allowed.join(', ')}`);
  }

  list(v: RawValue, path: string): RawValue[] {
    if (!Array.isArray(v)) this.fail(path, `expected a list, got ${describeValue(v)}`);
    return v;
  }

  /** An integer literal within [min, max], as a JS number (callers keep max below 2^53). */
  int(v: RawValue, path: string, min: number, max: number): number {
    if (typeof v === 'bigint') {
      if (v < BigInt(min) || v > BigInt(max)) this.fail(path, `${v} is out of range (expected ${min}..${max})`);
      return Number(v);
    }
    if (typeof v === 'number') this.fail(path, `${floatProblem(v)} (expected ${min}..${max})`);
    return this.fail(path, `expected an integer ${min}..${max}, got ${describeValue(v)}`);
  }

  u64(v: RawValue, path: string, syntax: U64Syntax): bigint {
    const r = readU64(v, syntax);
    if (!r.ok) this.fail(path, r.problem);
    return r.value;
  }

  bool(v: RawValue, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, `expected true or false, got ${describeValue(v)}`);
    return v;
  }

  string(v: RawValue, path: string): string {
    if (typeof v !== 'string') this.fail(path, `expected a string, got ${describeValue(v)}`);
    return v;
  }

  oneOf<T extends string>(v: RawValue, path: string, allowed: readonly T[], what = 'value'): T {
    if (typeof v !== 'string') this.fail(path, `expected one of ${allowed.join(', ')}; got ${describeValue(v)}`);
    if (!(allowed as readonly string[]).includes(v)) this.unknown(path, what, v, allowed);
    return v as T;
  }
}

/** Own-property lookup: mappings from the yaml package have Object.prototype. */
export function has(m: RawMapping, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(m, key);
}
export function get(m: RawMapping, key: string): RawValue | undefined {
  return has(m, key) ? m[key] : undefined;
}
