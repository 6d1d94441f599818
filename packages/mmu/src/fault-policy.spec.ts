import { policyContextOf, tagAccessFault } from '@mteperm/plugin-api/testing';
import type { FaultPolicy, PolicyContextFacts } from '@mteperm/plugin-api';
import { runPolicyChain } from './fault-policy';

const policy = (name: string, decide: (...args: never[]) => unknown): FaultPolicy => ({ name, version: '0', decide: decide as FaultPolicy['decide'] });
const facts = (over: Partial<PolicyContextFacts> = {}): PolicyContextFacts => ({ kernel: 'v2', tagPoolRemaining: 2, faultsSeen: 1, ...over });
const fault = tagAccessFault();

describe('runPolicyChain: order (ARCHITECTURE "Fault-policy plugins", DOMAIN A.2.7)', () => {
  const sea = policy('sea', () => ({ kind: 'inject-sea' }));
  const alloc = policy('alloc', () => ({ kind: 'allocate-tags-and-retry' }));
  const pass = policy('pass', () => ({ kind: 'pass' }));

  it.each([
    [[sea, alloc], 'sea', 'inject-sea'],
    [[alloc, sea], 'alloc', 'allocate-tags-and-retry'],
    [[pass, sea, alloc], 'sea', 'inject-sea'],
    [[pass], 'exit-to-vmm', 'exit-to-vmm'],
    [[], 'exit-to-vmm', 'exit-to-vmm'],
  ] as const)('the first non-pass wins, exit-to-vmm is the fallback (%#)', (chain, plugin, kind) => {
    const out = runPolicyChain(chain, fault, facts());
    expect({ plugin: out.plugin, kind: out.decision.kind }).toEqual({ plugin, kind });
  });

  it('records every decision up to the winner, and no later plugin is asked', () => {
    const asked: string[] = [];
    const spy = (name: string, kind: string) => policy(name, () => (asked.push(name), { kind }));
    const out = runPolicyChain([spy('a', 'pass'), spy('b', 'inject-sea'), spy('c', 'exit-to-vmm')], fault, facts());
    expect(out.decided).toEqual([
      { plugin: 'a', decision: 'pass' },
      { plugin: 'b', decision: 'inject-sea' },
    ]);
    expect(asked).toEqual(['a', 'b']);
  });

  it('allocate-tags-and-retry from an empty pool counts as pass (DOMAIN A.2.7)', () => {
    const out = runPolicyChain([alloc, sea], fault, facts({ tagPoolRemaining: 0 }));
    expect(out.decided).toEqual([
      { plugin: 'alloc', decision: 'pass' },
      { plugin: 'sea', decision: 'inject-sea' },
    ]);
  });
});

describe('runPolicyChain: isolation — a failing plugin is recorded and skipped', () => {
  const next = policy('next', () => ({ kind: 'inject-sea' }));

  it('threw: the error name and message are recorded', () => {
    const out = runPolicyChain([policy('boom', () => { throw new RangeError('pool?'); }), next], fault, facts());
    expect(out.failures).toEqual([{ plugin: 'boom', reason: 'threw', message: 'RangeError: pool?' }]);
    expect(out.plugin).toBe('next');
  });

  it.each([
    [undefined, 'decide() returned undefined'],
    [null, 'decide() returned null'],
    ['exit-to-vmm', 'decide() returned "exit-to-vmm"'],
    [{ kind: 'reboot' }, 'decide() returned {"kind":"reboot"}'],
    [{ kind: 'PASS' }, 'decide() returned {"kind":"PASS"}'],
    [Promise.resolve({ kind: 'pass' }), 'decide() returned {}'],
    [3n, 'decide() returned 3n'],
  ])('invalid-decision: %p', (value, message) => {
    const out = runPolicyChain([policy('bad', () => value), next], fault, facts());
    expect(out.failures).toEqual([{ plugin: 'bad', reason: 'invalid-decision', message }]);
    expect(out.decision).toEqual({ kind: 'inject-sea' });
  });

  it('timeout: a decide that loops forever is interrupted after its budget and the chain goes on', () => {
    const t0 = process.hrtime.bigint();
    const out = runPolicyChain([policy('spin', () => { for (;;); }), next], fault, facts(), { budgetMs: 50 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(out.failures).toEqual([{ plugin: 'spin', reason: 'timeout', message: 'decide() did not return within 50 ms' }]);
    expect(out.plugin).toBe('next');
    expect(ms).toBeGreaterThanOrEqual(45);
    expect(ms).toBeLessThan(2000);
  });

  it('timeout: a decision whose `kind` getter never returns is interrupted too', () => {
    const trap = { get kind(): string { for (;;); } };
    const out = runPolicyChain([policy('getter', () => trap), next], fault, facts(), { budgetMs: 250 });
    expect(out.failures.map((f) => f.reason)).toEqual(['timeout']);
  });

  it('a plugin that throws something odd is still recorded', () => {
    const out = runPolicyChain([policy('odd', () => { throw 42; }), policy('odder', () => { throw Object.create(null); })], fault, facts());
    expect(out.failures).toEqual([
      { plugin: 'odd', reason: 'threw', message: '42' },
      { plugin: 'odder', reason: 'threw', message: 'a value that cannot be printed' },
    ]);
  });
});

describe('runPolicyChain: plugins cannot mutate what they are given', () => {
  // `new Function` bodies are sloppy-mode code: writes to frozen objects are silently ignored there
  // instead of throwing, which is the harder case for isolation.
  const sloppy = new Function(
    'fault',
    'ctx',
    `fault.ipa = 0n; fault.memslot.slot = 99; fault.stage2.level = 0; delete fault.esr;
     ctx.tagPoolRemaining = 1000; ctx.tagStorage.remaining = 1000;
     ctx.tagStorage.canAllocate = function () { return true; };
     ctx.smuggled = 'x';
     return { kind: 'pass' };`,
  ) as FaultPolicy['decide'];

  it('a sloppy-mode plugin writing to fault and ctx changes nothing the next plugin or the mmu sees', () => {
    const seen: unknown[] = [];
    const observer = policy('observer', (f: typeof fault, c: ReturnType<typeof policyContextOf>) => {
      seen.push({ ipa: f.ipa, slot: f.memslot.slot, level: f.stage2.level, esr: f.esr, remaining: c.tagPoolRemaining, view: c.tagStorage.remaining, can: c.tagStorage.canAllocate(5), smuggled: (c as unknown as Record<string, unknown>)['smuggled'] });
      return { kind: 'allocate-tags-and-retry' };
    });
    const original = { ...fault };
    const out = runPolicyChain([policy('sloppy', sloppy), observer], fault, facts({ tagPoolRemaining: 2 }));
    expect(seen).toEqual([{ ipa: 0x1000_0040n, slot: 1, level: 3, esr: 0x0000_0200_9200_004fn, remaining: 2, view: 2, can: false, smuggled: undefined }]);
    expect(out.decision).toEqual({ kind: 'allocate-tags-and-retry' });
    expect({ ...fault }).toEqual(original);
  });

  it('a strict-mode plugin writing to its inputs throws TypeError and is skipped', () => {
    const out = runPolicyChain([policy('strict', (f: { ipa: bigint }) => ((f.ipa = 0n), { kind: 'inject-sea' }))], fault, facts());
    expect(out.failures).toEqual([{ plugin: 'strict', reason: 'threw', message: expect.stringMatching(/^TypeError: Cannot assign to read only property 'ipa'/) }]);
    expect(out.plugin).toBe('exit-to-vmm');
  });

  it('views give no way to Object.prototype to pollute', () => {
    const proto = new Function(
      'fault',
      'ctx',
      'const p = Object.getPrototypeOf(fault); return { kind: Object.isFrozen(p) && Object.getPrototypeOf(p) === null && Object.getPrototypeOf(ctx.tagStorage) === p && !(fault instanceof Object) ? "pass" : "inject-sea" };',
    ) as FaultPolicy['decide'];
    expect(runPolicyChain([policy('proto', proto)], fault, facts()).decided).toEqual([{ plugin: 'proto', decision: 'pass' }]);
    const polluter = new Function('fault', 'fault.__proto__.polluted = 1; return { kind: "pass" };') as FaultPolicy['decide'];
    expect(runPolicyChain([policy('polluter', polluter)], fault, facts()).failures[0]?.reason).toBe('threw');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('the tag-storage view answers from the owner, never from plugin input', () => {
    const pages = new Set([0x10000]);
    const ctx = policyContextOf({ tagPoolRemaining: 1, tagPagesAllocated: 1, hasTagStorage: (ipa) => pages.has(Number(ipa >> 12n)) });
    expect([ctx.tagStorage.canAllocate(), ctx.tagStorage.canAllocate(2), ctx.tagStorage.canAllocate(0), ctx.tagStorage.allocatedPages]).toEqual([true, false, false, 1]);
    expect([ctx.tagStorage.hasTagStorage(0x1000_0fffn), ctx.tagStorage.hasTagStorage(0x1000_1000n), ctx.tagStorage.hasTagStorage(0x1000_0000 as never)]).toEqual([true, false, false]);
  });
});
