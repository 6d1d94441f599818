import type { FaultPolicy } from '@mteperm/plugin-api';
import { trustPolicy } from '@mteperm/plugin-api/host';
import { deviceSea } from '@mteperm/policy-example';
import { exitToVmm } from '@mteperm/policy-exit-to-vmm';
import { injectSea } from '@mteperm/policy-inject-sea';
import { tagAllocRetry } from '@mteperm/policy-tag-alloc-retry';

/** Policies loadable by name alone (DOMAIN A.2.7, plus the example plugin); ours, so not budgeted. */
export const BUILTIN_POLICIES: ReadonlyMap<string, FaultPolicy> = new Map(
  [exitToVmm, tagAllocRetry, injectSea, deviceSea].map((p) => [p.name, trustPolicy(p)] as const),
);

export const BUILTIN_POLICY_NAMES: readonly string[] = Object.freeze([...BUILTIN_POLICIES.keys()]);
