import type { EventBus } from '../event-bus';
import { at, busSpec, expectEvents } from './given-when-then';
import { accessRequested, hostProbed, vmCreated } from './events';
import { readable } from './readable';

/** A subject that answers each AccessRequested with a Stage2FaultTaken caused by it (a stand-in for pgtable). */
function faulter(bus: EventBus) {
  let seen = 0;
  bus.subscribe('faulter', 'AccessRequested', (e) => {
    seen++;
    bus.publish(
      { type: 'Stage2FaultTaken', data: { ipa: e.data.gpa, esr: 0x9200_0045n, kind: 'translation', level: 1, tag_access: false, op: e.data.op } },
      { vm: e.vm, vcpu: e.vcpu, causation: e.seq },
    );
  });
  return { seen: () => seen };
}

const spec = busSpec(faulter, { vm: 1 });
const fault = (ipa: bigint) => ({ type: 'Stage2FaultTaken' as const, data: { ipa, esr: 0x9200_0045n, kind: 'translation', level: 1, tag_access: false, op: 'write' } });

describe('the given/when/then kit', () => {
  it('publishes given events on a real bus, then compares only what the when event caused', () => {
    spec
      .given(hostProbed(), vmCreated(), at({ vm: 1, vcpu: 1 }, accessRequested(0x1000n, 'write')))
      .when(at({ vm: 1, vcpu: 0 }, accessRequested(0x8000_0000n, 'write')))
      .then({ ...fault(0x8000_0000n), vm: 1, vcpu: 0, causedBy: 'when' })
      .and(({ subject, log }) => {
        expect(subject.seen()).toBe(2);
        expect(log.map((e) => e.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
      });
  });

  it('fails on a different body, a missing or an extra event, showing bigints as hex', () => {
    const outcome = spec.given().when(accessRequested(0x8000_0000n, 'write'));
    expect(() => outcome.then(fault(0x8000_1000n))).toThrow(/"0x80001000n"/);
    expect(() => outcome.then()).toThrow(/Stage2FaultTaken/);
    expect(() => outcome.then(fault(0x8000_0000n), fault(0x8000_0000n))).toThrow();
    expect(() => outcome.then({ type: 'Stage2FaultTaken', causedBy: 'VmCreated' })).toThrow(/-0x1n/);
  });

  it('takes a call as the when, with what it returned', () => {
    spec
      .given(vmCreated())
      .when(({ bus }) => bus.publish(accessRequested(0x10n, 'stg', { step: 3 }), { vm: 1 }).seq)
      .returns(2n)
      .thenTypes('AccessRequested', 'Stage2FaultTaken');
    expect(() => spec.given().when(() => 1n).returns(2n)).toThrow(/0x2n/);
  });

  it('expectEvents compares a log built elsewhere', () => {
    const outcome = spec.given().when(accessRequested(0x20n, 'write'));
    expectEvents(outcome.log, [{ type: 'AccessRequested' }, fault(0x20n)]);
  });

  it('readable: bigints to hex strings (negative too), bytes to hex, matchers kept', () => {
    const anything = expect.anything();
    expect(readable({ a: 0x10n, b: [-0x16n, 3], c: new Uint8Array([0xab, 1]), d: anything })).toEqual({ a: '0x10n', b: ['-0x16n', 3], c: 'bytes:ab01', d: anything });
  });
});
