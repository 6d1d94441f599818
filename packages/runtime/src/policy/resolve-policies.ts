import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { assertFaultPolicy, PluginContractError } from '@mteperm/plugin-api';
import type { FaultPolicy } from '@mteperm/plugin-api';
import { BUILTIN_POLICIES, BUILTIN_POLICY_NAMES } from './builtins';
import { PolicyLoadError } from './errors';

export interface ResolvePoliciesOptions {
  /** Where file paths and npm packages are resolved from (default: the process's working folder). */
  readonly cwd?: string;
}

const FILE_EXTENSIONS = ['.js', '.cjs'];

/**
 * Turns policy names, in chain order, into plugins (ARCHITECTURE "Fault-policy plugins"):
 * a built-in name (`exit-to-vmm`, `tag-alloc-retry`, `inject-sea`, `device-sea`); a file path
 * (`./my-policy.js`, `../p.cjs`, an absolute path; CommonJS `.js`/`.cjs`); otherwise an npm package
 * name resolved from `cwd`. A module's export is the policy itself or its `default`. Throws
 * `PolicyLoadError` (one line, naming the policy) for anything missing or off-contract.
 */
export function resolvePolicies(names: readonly string[], options: ResolvePoliciesOptions = {}): FaultPolicy[] {
  const cwd = resolve(options.cwd ?? process.cwd());
  // A require anchored in cwd: packages resolve from its node_modules, as `npx` users expect.
  const load = createRequire(join(cwd, 'mteperm-policy-loader.js'));
  return names.map((name) => resolveOne(name, cwd, load));
}

function resolveOne(name: string, cwd: string, load: NodeJS.Require): FaultPolicy {
  const builtin = BUILTIN_POLICIES.get(name);
  if (builtin !== undefined) return builtin;
  if (name.trim() === '') throw new PolicyLoadError(name, 'empty policy name');
  return isPathLike(name) ? fromFile(name, cwd, load) : fromPackage(name, cwd, load);
}

function isPathLike(name: string): boolean {
  return name.startsWith('./') || name.startsWith('../') || name === '.' || name === '..' || isAbsolute(name) || FILE_EXTENSIONS.includes(extname(name)) || extname(name) === '.mjs';
}

function fromFile(name: string, cwd: string, load: NodeJS.Require): FaultPolicy {
  const file = resolve(cwd, name);
  if (!existsSync(file)) throw new PolicyLoadError(name, `no such file ${file}`, file);
  if (!statSync(file).isFile()) throw new PolicyLoadError(name, `${file} is not a file`, file);
  if (!FILE_EXTENSIONS.includes(extname(file))) {
    throw new PolicyLoadError(name, `${file}: a policy file must be CommonJS ending in .js or .cjs`, file);
  }
  return fromModule(name, file, load);
}

function fromPackage(name: string, cwd: string, load: NodeJS.Require): FaultPolicy {
  let file: string;
  try {
    file = load.resolve(name);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw new PolicyLoadError(name, `cannot resolve: ${messageOf(e)}`, undefined, { cause: e });
    throw new PolicyLoadError(name, `not a built-in policy (${BUILTIN_POLICY_NAMES.join(', ')}), a file path (./name.js) or an npm package installed for ${cwd}`, undefined, { cause: e });
  }
  return fromModule(name, file, load);
}

function fromModule(name: string, file: string, load: NodeJS.Require): FaultPolicy {
  let mod: unknown;
  try {
    mod = load(file);
  } catch (e) {
    const esm = (e as { code?: unknown }).code === 'ERR_REQUIRE_ESM';
    throw new PolicyLoadError(name, esm ? `${file} is an ES module; policies are loaded with require(): publish CommonJS (.cjs)` : `loading ${file} failed: ${messageOf(e)}`, file, { cause: e });
  }
  const candidate = exportOf(mod);
  try {
    assertFaultPolicy(candidate, file);
  } catch (e) {
    if (!(e instanceof PluginContractError)) throw e;
    throw new PolicyLoadError(name, `${file} does not meet the plugin contract: ${e.detail}`, file, { cause: e });
  }
  return candidate;
}

// `module.exports = policy`, or a transpiled ES module's `export default policy`.
function exportOf(mod: unknown): unknown {
  if (mod !== null && typeof mod === 'object' && !('decide' in mod) && 'default' in mod) return (mod as { default: unknown }).default;
  return mod;
}

function messageOf(e: unknown): string {
  const { name, message } = (e ?? {}) as { name?: unknown; message?: unknown };
  // Node's MODULE_NOT_FOUND message lists the require stack on further lines: keep the first.
  return typeof message === 'string' ? `${typeof name === 'string' ? name : 'Error'}: ${message.split('\n')[0]}` : String(e);
}
