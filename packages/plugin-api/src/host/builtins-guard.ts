/*
 * Plugins run in-process: a call that pollutes the built-ins the model itself uses
 * (Object.prototype.kind, Array.prototype.includes, ...) would steer every later decision. The
 * built-ins are snapshotted before each untrusted call and restored after it.
 */

// The realm's shared objects whose own properties the model's code reads through prototype chains.
const GUARDED: ReadonlyArray<readonly [string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
  ['Number.prototype', Number.prototype],
  ['BigInt.prototype', BigInt.prototype],
  ['Boolean.prototype', Boolean.prototype],
  ['Map.prototype', Map.prototype],
  ['Set.prototype', Set.prototype],
  ['Promise.prototype', Promise.prototype],
  ['Object', Object],
  ['Array', Array],
  ['JSON', JSON],
  ['Math', Math],
  ['BigInt', BigInt],
  ['Number', Number],
];

export type Snapshot = ReadonlyArray<{ readonly proto: object | null; readonly extensible: boolean; readonly props: Map<PropertyKey, PropertyDescriptor> }>;

export function snapshotBuiltins(): Snapshot {
  return GUARDED.map(([, o]) => {
    const props = new Map<PropertyKey, PropertyDescriptor>();
    for (const k of Reflect.ownKeys(o)) props.set(k, Reflect.getOwnPropertyDescriptor(o, k)!);
    return { proto: Reflect.getPrototypeOf(o), extensible: Reflect.isExtensible(o), props };
  });
}

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor): boolean {
  return Object.is(a.value, b.value) && a.get === b.get && a.set === b.set && a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable;
}

/**
 * Puts back every guarded property as `before` had it; returns what had changed and what could not
 * be put back (a property made non-configurable, an object made non-extensible).
 */
export function restoreBuiltins(before: Snapshot): { changed: string[]; stuck: string[] } {
  const changed: string[] = [];
  const stuck: string[] = [];
  GUARDED.forEach(([name, o], i) => {
    const snap = before[i]!;
    const fix = (what: string, ok: boolean): void => {
      changed.push(what);
      if (!ok) stuck.push(what);
    };
    const label = (k: PropertyKey) => `${name}.${String(k)}`;
    for (const k of Reflect.ownKeys(o)) {
      const was = snap.props.get(k);
      const now = Reflect.getOwnPropertyDescriptor(o, k)!;
      if (was === undefined) fix(label(k), Reflect.deleteProperty(o, k));
      else if (!sameDescriptor(was, now)) fix(label(k), Reflect.defineProperty(o, k, was));
    }
    for (const [k, was] of snap.props) if (!Reflect.getOwnPropertyDescriptor(o, k)) fix(label(k), Reflect.defineProperty(o, k, was));
    if (Reflect.getPrototypeOf(o) !== snap.proto) fix(`the prototype of ${name}`, Reflect.setPrototypeOf(o, snap.proto));
    if (Reflect.isExtensible(o) !== snap.extensible) fix(`the extensibility of ${name}`, false);
  });
  return { changed, stuck };
}

