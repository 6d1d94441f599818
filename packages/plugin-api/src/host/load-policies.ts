import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { assertFaultPolicy } from '../assert-policy';
import { PluginContractError } from '../errors';
import type { FaultPolicy, PluginFailureReason } from '../types';
import { errorText } from './classify';
import { PolicyLoadError } from './load-error';
import { DEFAULT_LOAD_BUDGET_MS, runUntrusted } from './policy-call';
import { closeSandboxes, loadSandboxed } from './sandbox';

export interface LoadPoliciesOptions {
  /** Where file paths and npm packages are resolved from (default: the process's working folder). */
  readonly cwd?: string;
  /** Policies loadable by name alone (the runtime's built-ins); they are never sandboxed. */
  readonly builtins?: ReadonlyMap<string, FaultPolicy>;
  /** Time budget of loading each plugin, in ms (default 2000). */
  readonly loadBudgetMs?: number;
  /** Run every plugin that is not a built-in in its own sandboxed process (`--sandbox`). */
  readonly sandbox?: boolean;
}

/** A plugin skipped because loading it overran its budget or tried to end the process. */
export interface PolicyLoadFailure {
  /** The policy as it was named (its `name` is not known yet). */
  readonly plugin: string;
  readonly reason: PluginFailureReason;
  readonly message: string;
}

/** A loaded chain: the policies that run, in order, and those skipped while loading. */
export interface LoadedPolicies {
  readonly policies: FaultPolicy[];
  readonly failures: PolicyLoadFailure[];
  /** Ends the sandbox processes this chain started (nothing without `sandbox`). */
  close(): void;
}

const FILE_EXTENSIONS = ['.js', '.cjs'];

/**
 * Turns policy names, in chain order, into plugins (ARCHITECTURE "Fault-policy plugins"):
 * a built-in name; a file path (`./my-policy.js`, `../p.cjs`, an absolute path; CommonJS
 * `.js`/`.cjs`); otherwise an npm package name resolved from `cwd`. A module's export is the policy
 * itself or its `default`. Throws `PolicyLoadError` (one line, naming the policy) for anything
 * missing, throwing or off-contract; a plugin whose loading overruns its budget or calls
 * `process.exit` is skipped and listed in `failures` instead (it is recorded as `PluginFailed`).
 */
export function loadPolicies(names: readonly string[], options: LoadPoliciesOptions = {}): LoadedPolicies {
  const cwd = resolve(options.cwd ?? process.cwd());
  // A require anchored in cwd: packages resolve from its node_modules, as `npx` users expect.
  const load = createRequire(join(cwd, 'mteperm-policy-loader.js'));
  const builtins = options.builtins ?? new Map<string, FaultPolicy>();
  const budget = options.loadBudgetMs ?? DEFAULT_LOAD_BUDGET_MS;
  const policies: FaultPolicy[] = [];
  const failures: PolicyLoadFailure[] = [];
  const chain: LoadedPolicies = { policies, failures, close: () => closeSandboxes(policies) };
  try {
    for (const name of names) {
      const builtin = builtins.get(name);
      if (builtin !== undefined) {
        policies.push(builtin);
        continue;
      }
      if (name.trim() === '') throw new PolicyLoadError(name, 'empty policy name');
      const file = isPathLike(name) ? fileOf(name, cwd) : packageOf(name, cwd, load, [...builtins.keys()]);
      const r = options.sandbox === true ? fromSandbox(name, file, budget) : fromModule(name, file, load, budget);
      if ('reason' in r) failures.push(r);
      else policies.push(r.policy);
    }
  } catch (e) {
    chain.close();
    throw e;
  }
  return chain;
}

function isPathLike(name: string): boolean {
  return name.startsWith('./') || name.startsWith('../') || name === '.' || name === '..' || isAbsolute(name) || FILE_EXTENSIONS.includes(extname(name)) || extname(name) === '.mjs';
}

function fileOf(name: string, cwd: string): string {
  const file = resolve(cwd, name);
  if (!existsSync(file)) throw new PolicyLoadError(name, `no such file ${file}`, file);
  if (!statSync(file).isFile()) throw new PolicyLoadError(name, `${file} is not a file`, file);
  if (!FILE_EXTENSIONS.includes(extname(file))) {
    throw new PolicyLoadError(name, `${file}: a policy file must be CommonJS ending in .js or .cjs`, file);
  }
  return file;
}

function packageOf(name: string, cwd: string, load: NodeJS.Require, builtinNames: readonly string[]): string {
  try {
    return load.resolve(name);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw new PolicyLoadError(name, `cannot resolve: ${messageOf(e)}`, undefined, { cause: e });
    throw new PolicyLoadError(name, `not a built-in policy (${builtinNames.join(', ')}), a file path (./name.js) or an npm package installed for ${cwd}`, undefined, { cause: e });
  }
}

// Files whose loading was cut off and whose half-loaded module the require cache would not give
// up (Jest's registry): loading them again reports the same failure instead of an empty export.
const cutOff = new Map<string, PolicyLoadFailure>();

function fromModule(name: string, file: string, load: NodeJS.Require, budgetMs: number): { policy: FaultPolicy } | PolicyLoadFailure {
  const earlier = cutOff.get(file);
  if (earlier !== undefined && load.cache[file]?.loaded === false) return { ...earlier, plugin: name };
  let mod: unknown;
  let thrown: { e: unknown } | undefined;
  // The module's top level is plugin code like decide: under the same guards, with its own budget.
  const r = runUntrusted(
    () => {
      try {
        mod = load(file);
      } catch (e) {
        thrown = { e };
      }
    },
    budgetMs,
    'loading',
  );
  if (!r.ok) {
    // A load cut off by the watchdog never ran require's own clean-up.
    Reflect.deleteProperty(load.cache, file);
    const failure = { plugin: name, reason: r.reason, message: r.message };
    if (load.cache[file] !== undefined) cutOff.set(file, failure);
    return failure;
  }
  if (thrown !== undefined) {
    const e = thrown.e;
    const esm = (e as { code?: unknown } | null)?.code === 'ERR_REQUIRE_ESM';
    throw new PolicyLoadError(name, esm ? esmMessage(file) : `loading ${file} failed: ${messageOf(e)}`, file, { cause: e });
  }
  const candidate = exportOf(mod);
  checkContract(name, file, candidate);
  return { policy: candidate as FaultPolicy };
}

function fromSandbox(name: string, file: string, budgetMs: number): { policy: FaultPolicy } | PolicyLoadFailure {
  const r = loadSandboxed(file, budgetMs);
  if (r.type === 'load-failed') return { plugin: name, reason: r.reason, message: r.message };
  if (r.type === 'load-threw') {
    const esm = r.error.code === 'ERR_REQUIRE_ESM';
    throw new PolicyLoadError(name, esm ? esmMessage(file) : `loading ${file} failed: ${messageOf(r.error)}`, file);
  }
  const { shape } = r;
  const value = shape.value === null || typeof shape.value !== 'object' ? shape.value : { name: shape.name, version: shape.version, decide: shape.decide };
  const plain = (v: unknown): unknown => (v !== null && typeof v === 'object' && 'function' in v ? () => undefined : v !== null && typeof v === 'object' && 'array' in v ? [] : v);
  const candidate = value !== null && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) : value;
  try {
    checkContract(name, file, candidate);
  } catch (e) {
    closeSandboxes([r.policy]);
    throw e;
  }
  return { policy: r.policy };
}

function checkContract(name: string, file: string, candidate: unknown): void {
  try {
    assertFaultPolicy(candidate, file);
  } catch (e) {
    if (!(e instanceof PluginContractError)) throw e;
    throw new PolicyLoadError(name, `${file} does not meet the plugin contract: ${e.detail}`, file, { cause: e });
  }
}

function esmMessage(file: string): string {
  return `${file} is an ES module; policies are loaded with require(): publish CommonJS (.cjs)`;
}

// `module.exports = policy`, or a transpiled ES module's `export default policy`.
function exportOf(mod: unknown): unknown {
  if (mod !== null && typeof mod === 'object' && !('decide' in mod) && 'default' in mod) return (mod as { default: unknown }).default;
  return mod;
}

function messageOf(e: unknown): string {
  try {
    const { name, message } = (e ?? {}) as { name?: unknown; message?: unknown };
    // Node's MODULE_NOT_FOUND message lists the require stack on further lines: keep the first.
    return typeof message === 'string' ? `${typeof name === 'string' ? name : 'Error'}: ${message.split('\n')[0]}` : errorText(e);
  } catch {
    return errorText(e);
  }
}
