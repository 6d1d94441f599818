import { policyContextOf, tagAccessFault } from '@mteperm/plugin-api/testing';
import type { FaultPolicy } from '../types';
import { callPolicy, trustPolicy } from './policy-call';

// Moved here from packages/mmu with the host (issue 18 item 5): the watchdog of one call.
const policy = (name: string, decide: (...args: never[]) => unknown): FaultPolicy => ({ name, version: '0', decide: decide as FaultPolicy['decide'] });
const fault = tagAccessFault();

describe('callPolicy: the watchdog (ARCHITECTURE "Fault-policy plugins")', () => {
  it('the default budget is 100 ms', () => {
    const out = callPolicy(policy('spin', () => { for (;;); }), fault, policyContextOf());
    expect(out).toEqual({ ok: false, reason: 'timeout', message: 'decide() did not return within 100 ms' });
  });
});

describe('trustPolicy', () => {
  it('exempts that policy object from the budget, and only it', () => {
    const busy = (ms: number) => () => {
      const end = Date.now() + ms;
      while (Date.now() < end);
      return { kind: 'inject-sea' };
    };
    const slow = policy('slow', busy(30));
    const copy = { ...slow };
    trustPolicy(slow);
    expect(callPolicy(slow, fault, policyContextOf(), 10)).toEqual({ ok: true, kind: 'inject-sea' });
    expect(callPolicy(copy, fault, policyContextOf(), 10)).toEqual({ ok: false, reason: 'timeout', message: 'decide() did not return within 10 ms' });
  });
});
