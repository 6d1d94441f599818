import { loadPolicies } from '@mteperm/plugin-api/host';
import type { LoadedPolicies } from '@mteperm/plugin-api/host';
import type { FaultPolicy } from '@mteperm/plugin-api';
import { BUILTIN_POLICIES } from './builtins';

export interface ResolvePoliciesOptions {
  /** Where file paths and npm packages are resolved from (default: the process's working folder). */
  readonly cwd?: string;
  /** Run every policy that is not a built-in in a sandboxed process (`--sandbox`). */
  readonly sandbox?: boolean;
}

/**
 * The policy chain of a run: built-in names (`exit-to-vmm`, `tag-alloc-retry`, `inject-sea`,
 * `device-sea`), file paths or npm packages, loaded by the plugin host of `@mteperm/plugin-api`
 * (its `loadPolicies` says how). Plugins skipped while loading are in `failures`.
 */
export function loadPolicyChain(names: readonly string[], options: ResolvePoliciesOptions = {}): LoadedPolicies {
  return loadPolicies(names, { builtins: BUILTIN_POLICIES, ...(options.cwd === undefined ? {} : { cwd: options.cwd }), ...(options.sandbox === true ? { sandbox: true } : {}) });
}

/** The plugins of `names` that loaded (see loadPolicyChain); throws `PolicyLoadError`. */
export function resolvePolicies(names: readonly string[], options: ResolvePoliciesOptions = {}): FaultPolicy[] {
  return loadPolicyChain(names, options).policies;
}
