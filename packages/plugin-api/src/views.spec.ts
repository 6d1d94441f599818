import { freezeFault, policyContext } from './views';
import type { TagAccessFault } from './types';
import { coverLetterFault } from './testing/cover-letter-fault';

const fault = (): TagAccessFault => ({ ...coverLetterFault(), vcpu: 1 });

/** Nothing of Object.prototype is reachable: the one prototype is frozen, empty, and ends the chain. */
function expectOutOfObjectPrototypeReach(o: object): void {
  const proto = Object.getPrototypeOf(o) as object;
  expect(proto).not.toBeNull();
  expect(Object.getPrototypeOf(proto)).toBeNull();
  expect(Object.isFrozen(proto) && Reflect.ownKeys(proto).length === 0).toBe(true);
  expect('hasOwnProperty' in o || 'constructor' in o || '__proto__' in o).toBe(false);
  // Writing through the prototype fails (strict mode): it cannot carry anything to other views.
  expect(() => {
    (proto as Record<string, unknown>)['polluted'] = true;
  }).toThrow(TypeError);
}

describe('plugin views (ARCHITECTURE "Fault-policy plugins": frozen copies out of Object.prototype\'s reach)', () => {
  it('freezeFault copies every level into frozen objects out of Object.prototype\'s reach, keys in order', () => {
    const input = fault();
    const v = freezeFault(input);
    for (const o of [v, v.memslot, v.stage2]) {
      expectOutOfObjectPrototypeReach(o);
      expect(Object.isFrozen(o)).toBe(true);
    }
    expect(Object.getPrototypeOf(v)).toBe(Object.getPrototypeOf(v.memslot));
    expect(v).not.toBe(input);
    expect(v.memslot).not.toBe(input.memslot);
    expect(v.stage2).not.toBe(input.stage2);
    expect(Object.keys(v)).toEqual(['vcpu', 'ipa', 'op', 'esr', 'memslot', 'backing', 'stage2', 'nesting_level']);
    expect(Object.keys(v.memslot)).toEqual(['slot', 'guest_phys_addr', 'memory_size', 'flags']);
    expect({ ...v, memslot: { ...v.memslot }, stage2: { ...v.stage2 } }).toEqual(input);
  });

  it('freezeFault keeps extra keys, and a fault without memslot / stage2 gets empty frozen ones at the end', () => {
    const v = freezeFault({ vcpu: 0, extra: 'x' } as unknown as TagAccessFault);
    expect(Object.keys(v)).toEqual(['vcpu', 'extra', 'memslot', 'stage2']);
    expect(Object.keys(v.memslot)).toEqual([]);
    expect(Object.isFrozen(v.stage2)).toBe(true);
    expectOutOfObjectPrototypeReach(v.stage2);
  });

  it('policyContext: frozen, out of Object.prototype\'s reach, keys in order, named functions answering from the facts', () => {
    const pages = new Set([0x1_0000n]); // IPA 0x1000_0000 >> 12
    const ctx = policyContext({ kernel: 'v2', tagPoolRemaining: 2, faultsSeen: 5, tagPagesAllocated: 3, hasTagStorage: (ipa) => pages.has(ipa >> 12n) });
    for (const o of [ctx, ctx.tagStorage]) {
      expectOutOfObjectPrototypeReach(o);
      expect(Object.isFrozen(o)).toBe(true);
    }
    expect(Object.keys(ctx)).toEqual(['kernel', 'tagPoolRemaining', 'faultsSeen', 'tagStorage']);
    expect(Object.keys(ctx.tagStorage)).toEqual(['remaining', 'allocatedPages', 'canAllocate', 'hasTagStorage']);
    expect([ctx.kernel, ctx.tagPoolRemaining, ctx.faultsSeen, ctx.tagStorage.remaining, ctx.tagStorage.allocatedPages]).toEqual(['v2', 2, 5, 2, 3]);
    expect([ctx.tagStorage.canAllocate.name, ctx.tagStorage.hasTagStorage.name]).toEqual(['canAllocate', 'hasTagStorage']);
    expect([ctx.tagStorage.canAllocate(), ctx.tagStorage.canAllocate(2), ctx.tagStorage.canAllocate(3), ctx.tagStorage.canAllocate(1.5)]).toEqual([true, true, false, false]);
    expect([ctx.tagStorage.hasTagStorage(0x1000_0040n), ctx.tagStorage.hasTagStorage(0x40n), ctx.tagStorage.hasTagStorage(0x1000_0040 as unknown as bigint)]).toEqual([true, false, false]);
    expect(policyContext({ kernel: 'v1', tagPoolRemaining: 0, faultsSeen: 0 }).tagStorage.allocatedPages).toBe(0);
  });
});
