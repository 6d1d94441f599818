import { PluginContractError } from './errors';
import type { FaultPolicy } from './types';

const SHAPE = '{ name, version, decide(fault, ctx) }';

/**
 * Checks at run time that `value` meets the plugin contract, so a bad plugin is refused when it is
 * loaded rather than when the first fault reaches it. Throws `PluginContractError` naming the
 * first member that is wrong; `where` prefixes the message (a file or package name).
 */
export function assertFaultPolicy(value: unknown, where: string): asserts value is FaultPolicy {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    throw new PluginContractError(where, '', `expected a policy object ${SHAPE}, got ${describe(value)}`);
  }
  const v = value as Record<string, unknown>;
  if (typeof v['name'] !== 'string' || v['name'].trim() === '') {
    throw new PluginContractError(where, 'name', `name must be a non-empty string, got ${describe(v['name'])}`);
  }
  if (typeof v['version'] !== 'string' || v['version'] === '') {
    throw new PluginContractError(where, 'version', `version must be a non-empty string, got ${describe(v['version'])}`);
  }
  if (typeof v['decide'] !== 'function') {
    const what = v['decide'] === undefined ? 'decide is missing' : `decide must be a function, got ${describe(v['decide'])}`;
    throw new PluginContractError(where, 'decide', `${what} (a policy is ${SHAPE})`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  switch (typeof v) {
    case 'string':
      return `string ${JSON.stringify(v)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof v} ${String(v)}`;
    case 'function':
      return 'a function';
    default:
      return Array.isArray(v) ? 'an array' : 'an object';
  }
}
