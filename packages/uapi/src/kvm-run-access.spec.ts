import { EventBus } from '@mteperm/bus';
import type { Envelope, EnvelopeOf, MteEvent } from '@mteperm/events';
import { HOSTS, probedOf } from './testing/fixtures';
import { UapiAdapter } from './uapi-adapter';

// KVM_RUN owns a guest access from AccessRequested to AccessEnded (README "Who owns an access").
// Given: the uapi on a bus, one VM with vCPU 0, and a stand-in for the packages that handle an
// access (pgtable, mmu, nested), answering the AccessRequested with scripted events.
// When: runAccess. Then: the events out, ending in exactly one AccessEnded caused by the event that
// ended the access.

type Script = (req: EnvelopeOf<'AccessRequested'>, say: (e: MteEvent, causation?: bigint, vcpu?: number) => bigint) => void;

function given(script: Script, kernel = 'v2') {
  const bus = new EventBus();
  const log: Envelope[] = [];
  bus.all().subscribe((e) => log.push(e));
  const uapi = new UapiAdapter(bus);
  bus.publish({ type: 'RunStarted', data: { scenario: 't', kernel, policies: [], tag_pool_pages: 64n } });
  bus.publish({ type: 'HostCpusProbed', data: probedOf(HOSTS.full) });
  uapi.createVm({ ipa_bits: 40 });
  uapi.createVcpu({ id: 0 });
  bus.subscribe('handlers', 'AccessRequested', (req) => {
    // Each scripted event is caused by the previous one unless told otherwise, as the packages chain them.
    let last = req.seq;
    script(req, (e, causation, vcpu) => (last = bus.publish(e, { vm: req.vm, vcpu: vcpu ?? req.vcpu, causation: causation ?? last }).seq));
  });
  const start = log.length;
  return {
    uapi,
    log,
    when: (access: { gpa: bigint; op?: 'read' | 'write' | 'stg' | 'ldg' | 'exec'; level?: number }, vcpu = 0) => {
      const end = uapi.runAccess({ step: 9, gpa: access.gpa, op: access.op ?? 'stg', level: access.level ?? 1, tcf: 'sync', s1: 'tagged' }, { vm: 1, vcpu });
      return { end, events: log.slice(start) };
    },
  };
}

const ESR_STG_PERM = 0x0000_0200_9200_004fn; // EC 0x24, IL, WnR, DFSC permission L3, ISS2.TagAccess (B §5.4)
const fault = (ipa: bigint, esr = ESR_STG_PERM): MteEvent => ({ type: 'Stage2FaultTaken', data: { ipa, esr, kind: 'permission', level: 3, tag_access: true, op: 'stg' } });
const completed = (gpa: bigint, level?: number): MteEvent => ({ type: 'AccessCompleted', data: { gpa, op: 'stg', pa: 0x8_4000_0040n, tags_ignored: false, ...(level === undefined ? {} : { level }) } });

/** The only AccessEnded among `events`; fails the test when there is not exactly one. */
function theEnd(events: readonly Envelope[]): EnvelopeOf<'AccessEnded'> {
  const ends = events.filter((e): e is EnvelopeOf<'AccessEnded'> => e.type === 'AccessEnded');
  expect(ends).toHaveLength(1);
  return ends[0]!;
}

const seqOf = (events: readonly Envelope[], type: string): bigint => events.find((e) => e.type === type)!.seq;

describe('KVM_RUN owns the access: exactly one AccessEnded, caused by what ended it', () => {
  it('an access that completes ends ok, caused by AccessCompleted; no fault, no esr', () => {
    const { when } = given((req, say) => say(completed(req.data.gpa)));
    const { end, events } = when({ gpa: 0x8000_0040n });
    expect(events.map((e) => e.type)).toEqual(['AccessRequested', 'AccessCompleted', 'AccessEnded']);
    const ended = theEnd(events);
    expect(ended.causation).toBe(seqOf(events, 'AccessCompleted'));
    expect([ended.vm, ended.vcpu]).toEqual([1, 0]);
    // Only the fields of the outcome are recorded (proto3 optional): four for a completed access.
    expect(ended.data).toEqual({ step: 9, gpa: 0x8000_0040n, outcome: 'ok', ret: 0 });
    expect(end).toBe(ended.data);
  });

  it('a tag access exits to the VMM (DOMAIN A.2.5, v2): -EFAULT, exit 39, gpa the page, size 0x1000, flags TAGACCESS; the first esr', () => {
    // The mmu's fault path: Stage2FaultTaken, then the exit-to-vmm decision the uapi turns into the exit.
    const { when } = given((req, say) => {
      const f = say(fault(req.data.gpa));
      say({ type: 'PolicyDecided', data: { ipa: req.data.gpa, plugin: 'exit-to-vmm', decision: 'exit-to-vmm', fault_seq: f } }, f);
    });
    const { end, events } = when({ gpa: 0x1000_0040n });
    expect(events.map((e) => e.type)).toEqual(['AccessRequested', 'Stage2FaultTaken', 'PolicyDecided', 'MemoryFaultExit', 'AccessEnded']);
    expect(theEnd(events).causation).toBe(seqOf(events, 'MemoryFaultExit'));
    expect(end).toMatchObject({ outcome: 'exit', ret: -14, esr: ESR_STG_PERM, exit_reason: 39, exit_gpa: 0x1000_0000n, exit_size: 0x1000n, exit_flags: 0x10n });
  });

  it('under v1 the same exit is KVM_EXIT_ARM_NOTAG_ACCESS (40) with KVM_RUN 0 and flags 0 (DOMAIN A.1, B §3.3)', () => {
    const { when } = given((req, say) => {
      const f = say(fault(req.data.gpa));
      say({ type: 'PolicyDecided', data: { ipa: req.data.gpa, plugin: 'exit-to-vmm', decision: 'exit-to-vmm', fault_seq: f } }, f);
    }, 'v1');
    expect(when({ gpa: 0x1000_0040n }).end).toMatchObject({ outcome: 'exit', ret: 0, exit_reason: 40, exit_gpa: 0x1000_0000n, exit_size: 0x1000n, exit_flags: 0n });
  });

  it('an access outside every memslot exits KVM_EXIT_MMIO with phys_addr, len and is_write', () => {
    const { when } = given((req, say) => {
      say({ type: 'Stage2FaultTaken', data: { ipa: req.data.gpa, esr: 0x9300_0046n, kind: 'translation', level: 2, tag_access: false, op: 'write' } });
      say({ type: 'MmioExit', data: { phys_addr: req.data.gpa, len: 8, is_write: true } });
    });
    const { end, events } = when({ gpa: 0x900_0000n, op: 'write' });
    expect(theEnd(events).causation).toBe(seqOf(events, 'MmioExit'));
    expect(end).toMatchObject({ outcome: 'exit', ret: 0, esr: 0x9300_0046n, exit_reason: 6, phys_addr: 0x900_0000n, len: 8, is_write: true });
  });

  it('tag storage given by a policy, then the completion, ends retried (DOMAIN A.2.7); the esr is the first fault, not a later one', () => {
    const { when } = given((req, say) => {
      const f = say(fault(req.data.gpa));
      say({ type: 'PolicyDecided', data: { ipa: req.data.gpa, plugin: 'tag-alloc-retry', decision: 'allocate-tags-and-retry', fault_seq: f } }, f);
      say(fault(req.data.gpa, 0x9200_004fn)); // a second abort before the fix held
      say(completed(req.data.gpa));
    });
    const { end, events } = when({ gpa: 0x1000_0040n });
    expect(theEnd(events).causation).toBe(seqOf(events, 'AccessCompleted'));
    expect(end).toMatchObject({ outcome: 'retried', ret: 0, esr: ESR_STG_PERM });
  });

  it('inject-sea ends injected with the abort InjectedAbort recorded (kind sea, EL1)', () => {
    const { when } = given((req, say) => {
      const f = say(fault(req.data.gpa));
      say({ type: 'PolicyDecided', data: { ipa: req.data.gpa, plugin: 'inject-sea', decision: 'inject-sea', fault_seq: f } }, f);
      say({ type: 'InjectedAbort', data: { kind: 'sea', ipa: req.data.gpa, esr: 0x9600_0010n, target_level: 1 } });
    });
    const { end, events } = when({ gpa: 0x1000_0040n });
    expect(theEnd(events).causation).toBe(seqOf(events, 'InjectedAbort'));
    expect(end).toMatchObject({ outcome: 'injected', ret: 0, abort_kind: 'sea', abort_esr: 0x9600_0010n, abort_target_level: 1 });
  });

  it('a nested (L2) access: level-1 completions of the L1 IPA do not end it; L1 NoTagAccess injects into L1 (DOMAIN A.2.8)', () => {
    const { when } = given((req, say) => {
      if (req.data.level !== 2) return;
      say({ type: 'AccessRequested', data: { ...req.data, gpa: 0x4000_1040n, level: 1 } }); // nested hands the L1 IPA to L0
      say(completed(0x4000_1040n)); // L0's walk of the L1 IPA
      say({ type: 'InjectedAbort', data: { kind: 'stage2', ipa: req.data.gpa, esr: 0x200_9200_004en, target_level: 2 } });
    });
    const { end, events } = when({ gpa: 0x1040n, level: 2 });
    expect(events.map((e) => e.type)).toEqual(['AccessRequested', 'AccessRequested', 'AccessCompleted', 'InjectedAbort', 'AccessEnded']);
    expect(theEnd(events).causation).toBe(seqOf(events, 'InjectedAbort'));
    expect(end).toMatchObject({ outcome: 'injected', abort_kind: 'stage2', abort_esr: 0x200_9200_004en, abort_target_level: 2 });
  });

  it('a nested access completes only with a level-2 AccessCompleted', () => {
    const { when } = given((req, say) => {
      if (req.data.level !== 2) return;
      say(completed(0x4000_1040n));
      say(completed(req.data.gpa, 2));
    });
    const { end, events } = when({ gpa: 0x1040n, level: 2 });
    expect(theEnd(events).causation).toBe(events.filter((e) => e.type === 'AccessCompleted')[1]!.seq);
    expect(end.outcome).toBe('ok');
  });

  it('KVM_RUN failing with no exit info ends error with its errno and reason (DOMAIN B §3.3)', () => {
    const { when } = given((req, say) => {
      say(fault(req.data.gpa));
      say({ type: 'KvmRunFailed', data: { gpa: req.data.gpa, ret: -22, reason: 'stage-2 map refused: MTEPERM_S2_PROT' } });
    });
    const { end, events } = when({ gpa: 0x1000_0040n });
    expect(theEnd(events).causation).toBe(seqOf(events, 'KvmRunFailed'));
    expect(end).toMatchObject({ outcome: 'error', ret: -22, reason: 'stage-2 map refused: MTEPERM_S2_PROT' });
  });

  it('an access nothing handled ends error -ENOSYS, caused by its own AccessRequested', () => {
    const { when } = given(() => undefined);
    const { end, events } = when({ gpa: 0x1000_0040n });
    expect(events.map((e) => e.type)).toEqual(['AccessRequested', 'AccessEnded']);
    expect(theEnd(events).causation).toBe(events[0]!.seq);
    expect(end).toMatchObject({ outcome: 'error', ret: -38, reason: 'no component handled this access' });
  });

  it('a vCPU that was never created: KVM_RUN has no fd, -EBADF, and nothing is published', () => {
    const { when } = given((req, say) => say(completed(req.data.gpa)));
    const { end, events } = when({ gpa: 0x8000_0040n }, 3);
    expect(events).toEqual([]);
    expect(end).toMatchObject({ outcome: 'error', ret: -9, reason: 'vCPU 3 was not created' });
  });

  it("another vCPU's events neither end the access nor give it an esr", () => {
    const { when } = given((req, say) => {
      say(fault(0x2000_0040n), undefined, 1);
      say({ type: 'KvmRunFailed', data: { gpa: 0x2000_0040n, ret: -14, reason: 'vCPU 1' } }, undefined, 1);
      say(completed(req.data.gpa));
    });
    const { end, events } = when({ gpa: 0x8000_0040n });
    expect(theEnd(events).causation).toBe(seqOf(events, 'AccessCompleted'));
    expect(end.outcome).toBe('ok');
    expect(end.esr).toBeUndefined();
  });

  it('one access after another: each ends once, and the second starts clean (no esr or retried carried over)', () => {
    let n = 0;
    const { when } = given((req, say) => {
      if (n++ === 0) {
        const f = say(fault(req.data.gpa));
        say({ type: 'PolicyDecided', data: { ipa: req.data.gpa, plugin: 'tag-alloc-retry', decision: 'allocate-tags-and-retry', fault_seq: f } }, f);
      }
      say(completed(req.data.gpa));
    });
    expect(when({ gpa: 0x1000_0040n }).end).toMatchObject({ outcome: 'retried', esr: ESR_STG_PERM });
    const second = when({ gpa: 0x1000_0080n });
    expect(second.end).toMatchObject({ outcome: 'ok', gpa: 0x1000_0080n });
    expect(second.end.esr).toBeUndefined();
    expect(second.events.filter((e) => e.type === 'AccessEnded')).toHaveLength(2);
  });
});
