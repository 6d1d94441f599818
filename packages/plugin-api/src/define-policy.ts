import { assertFaultPolicy } from './assert-policy';
import type { FaultPolicy } from './types';

/**
 * Declares a fault policy: checks it against the contract (throws `PluginContractError`) and
 * freezes it, so nothing can swap its hook once it is in a chain. Typing the argument as
 * `FaultPolicy` gives plugin authors checked `fault`, `ctx` and decision types without annotations.
 */
export function definePolicy(policy: FaultPolicy): FaultPolicy {
  const name = (policy as { name?: unknown } | null)?.name;
  assertFaultPolicy(policy, `policy '${typeof name === 'string' ? name : '?'}'`);
  return Object.freeze(policy);
}
