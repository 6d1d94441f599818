import { policyContextOf, tagAccessFault } from '@mteperm/plugin-api/testing';
import exitDefault, { exitToVmm } from './index';

describe('exit-to-vmm (DOMAIN A.2.5, A.2.7)', () => {
  it('sends every tag-access fault to the VMM, whatever the op, backing or pool', () => {
    for (const fault of [tagAccessFault(), tagAccessFault({ op: 'ldg', backing: 'file-shared' }), tagAccessFault({ op: 'checked_read', nesting_level: 2 })]) {
      expect(exitToVmm.decide(fault, policyContextOf({ tagPoolRemaining: 0 }))).toEqual({ kind: 'exit-to-vmm' });
      expect(exitToVmm.decide(fault, policyContextOf())).toEqual({ kind: 'exit-to-vmm' });
    }
  });

  it('is a frozen plugin named exit-to-vmm, also the default export', () => {
    expect({ name: exitToVmm.name, version: exitToVmm.version, frozen: Object.isFrozen(exitToVmm) }).toEqual({ name: 'exit-to-vmm', version: '0.1.0', frozen: true });
    expect(exitDefault).toBe(exitToVmm);
  });
});
