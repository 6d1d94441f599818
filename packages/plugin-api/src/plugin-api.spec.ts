import { assertFaultPolicy, DECISIONS, definePolicy, isPolicyDecisionKind, PluginContractError, POLICY_DECISION_KINDS } from './index';
import type { FaultPolicy } from './index';
import { thrownError } from '@mteperm/events/testing';

const contractError = (f: () => void): PluginContractError => thrownError(f, PluginContractError);

const zero = (): number => 0;

describe('assertFaultPolicy (ARCHITECTURE "Fault-policy plugins")', () => {
  const ok: FaultPolicy = { name: 'p', version: '1.0.0', decide: () => ({ kind: 'pass' }) };

  it('accepts { name, version, decide } and objects with extra members', () => {
    expect(() => assertFaultPolicy(ok, 'p.js')).not.toThrow();
    expect(() => assertFaultPolicy({ ...ok, description: 'x' }, 'p.js')).not.toThrow();
  });

  it.each<[unknown, string, string]>([
    [null, '', 'p.js: expected a policy object { name, version, decide(fault, ctx) }, got null'],
    [42, '', 'p.js: expected a policy object { name, version, decide(fault, ctx) }, got number 42'],
    [{ version: '1', decide: zero }, 'name', 'p.js: name must be a non-empty string, got undefined'],
    [{ name: ' ', version: '1', decide: zero }, 'name', 'p.js: name must be a non-empty string, got string " "'],
    [{ name: 7, version: '1', decide: zero }, 'name', 'p.js: name must be a non-empty string, got number 7'],
    [{ name: 'p', version: 1, decide: zero }, 'version', 'p.js: version must be a non-empty string, got number 1'],
    [{ name: 'p', version: '1' }, 'decide', 'p.js: decide is missing (a policy is { name, version, decide(fault, ctx) })'],
    [{ name: 'p', version: '1', decide: 'exit' }, 'decide', 'p.js: decide must be a function, got string "exit" (a policy is { name, version, decide(fault, ctx) })'],
  ])('refuses %p naming the wrong member', (value, field, message) => {
    const e = contractError(() => assertFaultPolicy(value, 'p.js'));
    expect({ name: e.name, code: e.code, field: e.field, where: e.where, message: e.message }).toEqual({
      name: 'PluginContractError',
      code: 'MTEPERM_PLUGIN_CONTRACT',
      field,
      where: 'p.js',
      message,
    });
  });
});

describe('definePolicy', () => {
  it('returns the policy frozen, so its hook cannot be swapped', () => {
    const p = definePolicy({ name: 'p', version: '1', decide: () => DECISIONS.pass });
    expect(Object.isFrozen(p)).toBe(true);
    expect(() => {
      (p as { decide: unknown }).decide = () => DECISIONS['inject-sea'];
    }).toThrow(TypeError);
  });

  it('refuses a value that breaks the contract, naming the policy', () => {
    expect(contractError(() => definePolicy({ name: 'half', version: '' } as unknown as FaultPolicy)).message).toBe('policy \'half\': version must be a non-empty string, got string ""');
  });
});

describe('decisions', () => {
  it('lists the four kinds of DOMAIN A.2.7 and recognises only them', () => {
    expect(POLICY_DECISION_KINDS).toEqual(['exit-to-vmm', 'allocate-tags-and-retry', 'inject-sea', 'pass']);
    expect(POLICY_DECISION_KINDS.map(isPolicyDecisionKind)).toEqual([true, true, true, true]);
    expect([undefined, 'exit', 'PASS', 3].map(isPolicyDecisionKind)).toEqual([false, false, false, false]);
  });

  it('shares frozen decision values', () => {
    expect(DECISIONS['inject-sea']).toEqual({ kind: 'inject-sea' });
    expect(Object.isFrozen(DECISIONS.pass) && Object.isFrozen(DECISIONS)).toBe(true);
  });
});
