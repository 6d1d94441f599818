/**
 * The format-neutral tree both parsers produce before validation. Integer literals are `bigint` (so
 * `1.0`, `1e3` and `18446744073709551615` can be told apart from exact integers); other numbers are
 * `number`. Mappings are plain objects whose keys are own properties only (read them with hasOwnProperty:
 * `constructor` or `__proto__` keys are plain data).
 */
export type RawValue = null | boolean | string | number | bigint | RawValue[] | RawMapping;
export interface RawMapping {
  [key: string]: RawValue;
}

export function isMapping(v: RawValue): v is RawMapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** 1-based line and column (in UTF-16 units) of a character offset. */
export function linePosOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Depth of a parsed tree, measured with an explicit stack (the tree may be 10^5 deep, and YAML aliases
 * make it a DAG). Returns as soon as `limit` is exceeded.
 */
export function exceedsDepth(root: RawValue, limit: number): boolean {
  // A shared node is walked again only when reached deeper than before: at most `limit` times each.
  const deepest = new Map<object, number>();
  const stack: Array<[RawValue, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    if ((deepest.get(v) ?? 0) >= depth) continue;
    deepest.set(v, depth);
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push([c, depth + 1]);
  }
  return false;
}
