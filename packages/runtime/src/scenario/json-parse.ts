import { type RawMapping, type RawValue, linePosOf } from './raw';
import { SCENARIO_LIMITS } from './limits';
import { ScenarioError, limitError, syntaxError } from './errors';

// A small iterative JSON parser instead of JSON.parse: JSON.parse silently keeps the last of duplicate
// keys (a typo'd file would lose a value), loses integer precision above 2^53, and on Node 20 often
// reports no position. An explicit stack keeps 10^5-deep input from overflowing the call stack.

const STRING_RUN = /[^"\\\u0000-\u001f]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

// Plain objects rather than null-prototype ones: V8 keeps the latter in slow dictionary mode. The one
// key a plain object treats specially is `__proto__`, which is therefore defined, not assigned.
function setKey(map: RawMapping, key: string, value: RawValue): void {
  if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}

type Frame = { list: RawValue[] } | { map: RawMapping; key: string };

export function parseJsonText(text: string, file: string): RawValue {
  let i = 0;
  const fail = (at: number, problem: string): never => {
    throw new ScenarioError(syntaxError(file, linePosOf(text, at), problem));
  };
  const skipWs = (): void => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++i));
  };
  const describeAt = (at: number): string =>
    at >= text.length ? 'end of file' : JSON.stringify(text.slice(at, at + 1));

  const readString = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    for (;;) {
      STRING_RUN.lastIndex = i;
      STRING_RUN.test(text);
      out += text.slice(i, STRING_RUN.lastIndex);
      i = STRING_RUN.lastIndex;
      if (out.length > SCENARIO_LIMITS.maxScalarChars) {
        throw new ScenarioError(
          limitError(file, linePosOf(text, start), `string longer than ${SCENARIO_LIMITS.maxScalarChars} characters`),
        );
      }
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail(i, 'bad \\u escape in string');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && e in ESCAPES) {
          out += ESCAPES[e];
          i += 2;
        } else {
          fail(i, 'bad escape in string');
        }
        continue;
      }
      if (c === undefined) fail(start, 'unterminated string');
      fail(i, 'control character in string (escape it)');
    }
  };

  const readKey = (): string => {
    if (text[i] !== '"') fail(i, `expected a quoted key, found ${describeAt(i)}`);
    return readString();
  };

  // Reads `"key":` into the frame, refusing a key the mapping already has.
  const enterKey = (frame: { map: RawMapping; key: string }): void => {
    const at = i;
    const key = readKey();
    if (Object.prototype.hasOwnProperty.call(frame.map, key)) fail(at, `duplicate key ${JSON.stringify(key)}`);
    frame.key = key;
    skipWs();
    if (text[i] !== ':') fail(i, `expected ':' after key, found ${describeAt(i)}`);
    i++;
    skipWs();
  };

  const stack: Frame[] = [];
  const push = (frame: Frame, at: number): void => {
    if (stack.length >= SCENARIO_LIMITS.maxDepth) {
      throw new ScenarioError(
        limitError(file, linePosOf(text, at), `nesting deeper than ${SCENARIO_LIMITS.maxDepth} levels`),
      );
    }
    stack.push(frame);
  };

  skipWs();
  if (i >= text.length) fail(i, 'empty file: expected a JSON object');
  for (;;) {
    // A value starts at i.
    let value: RawValue;
    const c = text[i];
    if (c === '{' || c === '[') {
      const at = i;
      i++;
      skipWs();
      const close = c === '{' ? '}' : ']';
      if (text[i] === close) {
        i++;
        value = c === '{' ? ({} as RawMapping) : [];
      } else if (c === '[') {
        push({ list: [] }, at);
        continue;
      } else {
        const frame = { map: {} as RawMapping, key: '' };
        push(frame, at);
        enterKey(frame);
        continue;
      }
    } else if (c === '"') {
      value = readString();
    } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) fail(i, 'bad number');
      const raw = m![0];
      if (raw.length > SCENARIO_LIMITS.maxScalarChars) {
        throw new ScenarioError(
          limitError(file, linePosOf(text, i), `number longer than ${SCENARIO_LIMITS.maxScalarChars} characters`),
        );
      }
      value = m![1] === undefined && m![2] === undefined ? BigInt(raw) : Number(raw);
      i = NUMBER.lastIndex;
    } else if (text.startsWith('true', i)) {
      value = true;
      i += 4;
    } else if (text.startsWith('false', i)) {
      value = false;
      i += 5;
    } else if (text.startsWith('null', i)) {
      value = null;
      i += 4;
    } else {
      return fail(i, `unexpected ${describeAt(i)}: expected a value`);
    }

    // Attach the finished value to its parent, closing as many containers as end here.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        skipWs();
        if (i < text.length) fail(i, `unexpected ${describeAt(i)} after the JSON value`);
        return value;
      }
      skipWs();
      if ('list' in top) {
        top.list.push(value);
        if (text[i] === ',') {
          i++;
          skipWs();
          break;
        }
        if (text[i] !== ']') fail(i, `expected ',' or ']', found ${describeAt(i)}`);
        i++;
        value = top.list;
      } else {
        setKey(top.map, top.key, value);
        if (text[i] === ',') {
          i++;
          skipWs();
          enterKey(top);
          break;
        }
        if (text[i] !== '}') fail(i, `expected ',' or '}', found ${describeAt(i)}`);
        i++;
        value = top.map;
      }
      stack.pop();
    }
  }
}
