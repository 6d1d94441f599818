import type { Envelope, MteEvent } from '@mteperm/events';
import { accessOutcome, outcomeOfEnd } from './access-outcome';

// The step result is read from AccessEnded (CONTRACT §3); a schema-1 log has none, and re-decide
// folds its recorded end events by the rule KVM_RUN applies live (packages/uapi README).

let seq = 0n;
const env = (e: MteEvent, causation = seq): Envelope => ({ ...e, seq: ++seq, vm: 1, vcpu: 0, causation, schema: 1 }) as Envelope;
const L1_IPA = 0x4000_1040n;

describe('a recorded access outcome', () => {
  it('schema 1, nested (DOMAIN A.2.8 with A.2.5): a level-1 completion of the L1 IPA lookup is not the end; the exit is', () => {
    seq = 0n;
    const events = [
      env({ type: 'AccessRequested', data: { step: 8, gpa: L1_IPA, op: 'read', level: 1, tcf: 'sync', s1: 'tagged' } }),
      env({ type: 'AccessCompleted', data: { gpa: L1_IPA, op: 'read', pa: 0x8_4000_1040n, tags_ignored: false } }),
      env({ type: 'AccessRequested', data: { step: 8, gpa: L1_IPA, op: 'stg', level: 1, tcf: 'sync', s1: 'tagged' } }),
      env({ type: 'Stage2FaultTaken', data: { ipa: L1_IPA, esr: 0x200_9200_004fn, kind: 'permission', level: 3, tag_access: true, op: 'stg' } }),
      env({ type: 'PolicyDecided', data: { ipa: L1_IPA, plugin: 'exit-to-vmm', decision: 'exit-to-vmm', fault_seq: seq } }),
      env({ type: 'MemoryFaultExit', data: { exit_reason: 39, gpa: 0x4000_1000n, size: 0x1000n, flags: 0x10n, ret: -14 } }),
    ];
    const exit = { outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x40001000', size: '0x1000', flags: '0x10' } };
    expect(accessOutcome(events, 2)).toEqual(exit);
    // The same events as a level-1 access: the first completion ends it (what re-decide used to do for every access).
    expect(accessOutcome(events, 1)).toEqual({ outcome: 'ok' });
  });

  it('schema 2: the AccessEnded decides, whatever else the access caused', () => {
    seq = 0n;
    const ended = env({
      type: 'AccessEnded',
      data: { step: 8, gpa: 0x1040n, outcome: 'injected', ret: 0, abort_kind: 'stage2', abort_esr: 0x200_9200_004en, abort_target_level: 2 },
    });
    const events = [env({ type: 'AccessCompleted', data: { gpa: L1_IPA, op: 'read', pa: 0n, tags_ignored: false } }), ended];
    expect(accessOutcome(events, 2)).toEqual({ outcome: 'injected', target: 'L1', abort: { kind: 'stage2', esr: '0x2009200004e' } });
    expect(accessOutcome(events, 2)).toEqual(outcomeOfEnd((ended as Envelope<Extract<MteEvent, { type: 'AccessEnded' }>>).data));
  });

  it('nothing ended it: -ENOSYS, as KVM_RUN ends an access no package handled', () => {
    expect(accessOutcome([], 1)).toEqual({ outcome: 'error', ret: -38, errno: 'ENOSYS', reason: 'no component handled this access' });
  });
});
