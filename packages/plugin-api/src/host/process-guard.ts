/**
 * What an in-process plugin may not do to the process that hosts it while its code runs (loading,
 * `decide`): end it (`process.exit`, `process.reallyExit`, `process.abort`, `process.kill`) or write
 * into its stdout, which carries `--json`. These are refused or redirected for the length of the
 * call only; the process's own members are put back afterwards, whatever the plugin assigned.
 *
 * Not a security boundary: a plugin can still reach the same functions through other routes
 * (`process.binding`, a captured reference from a timer it left). `--sandbox` is the boundary.
 */

/** Thrown into the plugin by a refused `process.exit` / `abort` / `kill`. */
export class PluginExitRefused extends Error {
  override readonly name = 'PluginExitRefused';
  constructor(readonly call: string) {
    super(`${call}() is refused to plugins`);
  }
}

type Mutable = Record<string, unknown>;
const EXITS = ['exit', 'reallyExit', 'abort', 'kill'] as const;

/** What the plugin tried during one guarded call. */
export interface GuardRecord {
  /** The first refused call (`process.exit`, ...), if any. */
  exited: string | undefined;
}

let depth = 0;
let current: GuardRecord | undefined;
let saved: { proc: Map<string, PropertyDescriptor | undefined>; write: PropertyDescriptor | undefined } | undefined;

// One refusing function per member, created once: a plugin that keeps a reference to it keeps a
// function that still refuses (and is still recorded) when it calls it later inside a guard.
const refusers = new Map<string, (...args: unknown[]) => never>(
  EXITS.map((m) => {
    const call = `process.${m}`;
    const f = (): never => {
      if (current !== undefined && current.exited === undefined) current.exited = call;
      throw new PluginExitRefused(call);
    };
    return [m, f] as const;
  }),
);

function redirectedWrite(this: unknown, ...args: unknown[]): boolean {
  // The plugin's stdout goes to stderr: `--json` on stdout stays one document.
  return (process.stderr.write as (...a: unknown[]) => boolean).apply(process.stderr, args);
}

/** Runs `fn` with the process guarded; nested calls share the outermost guard. */
export function guarded<T>(record: GuardRecord, fn: () => T): T {
  const outer = current;
  current = record;
  if (depth++ === 0) install();
  try {
    return fn();
  } finally {
    if (--depth === 0) uninstall();
    current = outer;
  }
}

function install(): void {
  const proc = process as unknown as Mutable;
  const map = new Map<string, PropertyDescriptor | undefined>();
  for (const m of EXITS) {
    map.set(m, Reflect.getOwnPropertyDescriptor(proc, m));
    Reflect.defineProperty(proc, m, { value: refusers.get(m), writable: true, configurable: true, enumerable: false });
  }
  const out = process.stdout as unknown as Mutable;
  saved = { proc: map, write: Reflect.getOwnPropertyDescriptor(out, 'write') };
  Reflect.defineProperty(out, 'write', { value: redirectedWrite, writable: true, configurable: true, enumerable: false });
}

function uninstall(): void {
  const s = saved!;
  saved = undefined;
  const proc = process as unknown as Mutable;
  for (const [m, d] of s.proc) {
    if (d === undefined) Reflect.deleteProperty(proc, m);
    else Reflect.defineProperty(proc, m, d);
  }
  const out = process.stdout as unknown as Mutable;
  if (s.write === undefined) Reflect.deleteProperty(out, 'write');
  else Reflect.defineProperty(out, 'write', s.write);
}
