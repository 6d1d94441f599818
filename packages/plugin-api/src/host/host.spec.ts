import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { policyContextOf, tagAccessFault } from '@mteperm/plugin-api/testing';
import type { FaultPolicy } from '../types';
import { loadPolicies } from './load-policies';
import { PolicyLoadError } from './load-error';
import { callPolicy, runUntrusted } from './policy-call';

// The hostile fixtures live with the runtime's (issue 21): the host is what loads them.
const FIXTURES = resolve(__dirname, '../../../runtime/test/fixtures/policies');
const fault = tagAccessFault();
const policy = (name: string, decide: (...args: never[]) => unknown): FaultPolicy => ({ name, version: '0', decide: decide as FaultPolicy['decide'] });

describe('the process guard: plugin code may not end or print into the host (README "Plugin isolation")', () => {
  it.each(['exit', 'reallyExit', 'abort', 'kill'] as const)('process.%s from decide is refused: PluginFailed exited, and the host keeps its own process.%s', (m) => {
    const before = (process as unknown as Record<string, unknown>)[m];
    const out = callPolicy(policy('ender', () => (process as unknown as Record<string, (...a: unknown[]) => unknown>)[m]!(process.pid, 'SIGKILL')), fault, policyContextOf());
    expect(out).toEqual({ ok: false, reason: 'exited', message: `decide() called process.${m}(), which is refused to plugins` });
    expect((process as unknown as Record<string, unknown>)[m]).toBe(before);
  });

  it('a plugin that catches the refusal and answers is still exited; one that replaces process.exit changes nothing after the call', () => {
    const exit = process.exit;
    const sly = policy('sly', () => {
      try {
        process.exit(0);
      } catch {
        // swallowed
      }
      (process as { exit: unknown }).exit = () => undefined;
      return { kind: 'inject-sea' };
    });
    expect(callPolicy(sly, fault, policyContextOf())).toMatchObject({ ok: false, reason: 'exited' });
    expect(process.exit).toBe(exit);
  });

  it("a plugin's stdout goes to stderr, only during its call", () => {
    const out = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const write = process.stdout.write;
    try {
      const r = runUntrusted(() => process.stdout.write('from the plugin\n'), 0, 'decide()');
      expect(r.ok).toBe(true);
      expect(out).toHaveBeenCalledWith('from the plugin\n');
    } finally {
      out.mockRestore();
    }
    expect(process.stdout.write).toBe(write);
  });
});

describe('loadPolicies: loading has a time limit and the same guards as decide (issue 21)', () => {
  const load = (names: string[], budget = 300) => loadPolicies(names, { cwd: FIXTURES, loadBudgetMs: budget });

  it('a module that loops at its top level is cut off after the load budget and skipped (timeout)', () => {
    const t0 = Date.now();
    const chain = load(['./loop-on-load.cjs', './retry-first-two.cjs']);
    expect(chain.failures).toEqual([{ plugin: './loop-on-load.cjs', reason: 'timeout', message: 'loading did not finish within 300 ms' }]);
    expect(chain.policies.map((p) => p.name)).toEqual(['retry-first-two']);
    expect(Date.now() - t0).toBeLessThan(5000);
    // Cut off mid-require, the module must not stay cached half-loaded: loading it again loops again.
    expect(load(['./loop-on-load.cjs'], 100).failures.map((f) => f.reason)).toEqual(['timeout']);
  });

  it('a module that calls process.exit while loading is skipped (exited)', () => {
    const chain = load(['./exit-on-load.cjs']);
    expect(chain.failures).toEqual([{ plugin: './exit-on-load.cjs', reason: 'exited', message: 'loading called process.exit(), which is refused to plugins' }]);
    expect(chain.policies).toEqual([]);
  });

  it('a module that throws while loading is still bad input: PolicyLoadError naming it', () => {
    expect(() => load(['./throws-on-load.cjs'])).toThrow(PolicyLoadError);
    expect(() => load(['./throws-on-load.cjs'])).toThrow(`policy './throws-on-load.cjs': loading ${join(FIXTURES, 'throws-on-load.cjs')} failed: Error: MY_POLICY_CONFIG is not set`);
  });
});

describe('loadPolicies({ sandbox: true }): a policy in its own process under the permission model', () => {
  const boxed = (name: string, budget = 2000) => loadPolicies([name], { cwd: FIXTURES, sandbox: true, loadBudgetMs: budget });

  it('answers as in process, the tag-storage view answered by the host (asks-tag-storage)', () => {
    const has = new Set([0x10000n]);
    const facts = { tagPoolRemaining: 3, faultsSeen: 2, hasTagStorage: (ipa: bigint) => has.has(ipa >> 12n) };
    const inProc = loadPolicies(['./asks-tag-storage.cjs'], { cwd: FIXTURES });
    const chain = boxed('./asks-tag-storage.cjs');
    try {
      for (const ipa of [0x1000_0040n, 0x0fff_f040n, 0x2000_0000n]) {
        const f = tagAccessFault({ ipa });
        expect(callPolicy(chain.policies[0]!, f, policyContextOf(facts))).toEqual(callPolicy(inProc.policies[0]!, f, policyContextOf(facts)));
      }
    } finally {
      chain.close();
    }
  });

  it('a file write is refused: PluginFailed denied naming FileSystemWrite and the path, and nothing is written', () => {
    // Jest's process.env is its own copy, so the fixture writes to its default place, beside itself.
    const target = join(FIXTURES, 'written-by-policy.txt');
    const chain = boxed('./writes-file.cjs');
    try {
      expect(callPolicy(chain.policies[0]!, fault, policyContextOf())).toEqual({ ok: false, reason: 'denied', message: `decide() was denied FileSystemWrite (${target})` });
      expect(existsSync(target)).toBe(false);
    } finally {
      chain.close();
    }
  });

  it('an overrun decide is cut off by the watchdog in the sandbox process (timeout), as in process, and the next call is answered too', () => {
    const chain = boxed('./spin.cjs');
    try {
      const t0 = Date.now();
      expect(callPolicy(chain.policies[0]!, fault, policyContextOf(), 50)).toEqual({ ok: false, reason: 'timeout', message: 'decide() did not return within 50 ms' });
      expect(callPolicy(chain.policies[0]!, fault, policyContextOf(), 50)).toEqual({ ok: false, reason: 'timeout', message: 'decide() did not return within 50 ms' });
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      chain.close();
    }
  });

  it('loading: a loop is cut off by the load budget, an exit refused, a throw is a PolicyLoadError', () => {
    expect(boxed('./loop-on-load.cjs', 300).failures).toEqual([{ plugin: './loop-on-load.cjs', reason: 'timeout', message: 'loading did not finish within 300 ms' }]);
    expect(boxed('./exit-on-load.cjs').failures).toEqual([{ plugin: './exit-on-load.cjs', reason: 'exited', message: 'loading called process.exit(), which is refused to plugins' }]);
    expect(() => boxed('./throws-on-load.cjs')).toThrow(`policy './throws-on-load.cjs': loading ${join(FIXTURES, 'throws-on-load.cjs')} failed: Error: MY_POLICY_CONFIG is not set`);
    expect(() => boxed('./decide-string.cjs')).toThrow(/does not meet the plugin contract: decide must be a function, got string "exit-to-vmm"/);
  });
});
