import type { Envelope, EnvelopeOf } from '@mteperm/events';
import { parseScenario } from '../scenario/load';
import { runScenario } from './run-scenario';

// The whole model on one bus: every access step is one AccessRequested (causation 0, from KVM_RUN)
// that ends in exactly one AccessEnded, caused by the event that ended it; the step's result is
// that AccessEnded read as CONTRACT §3 says. Scenarios: a VM with MTE + MTE_PERM on a FEAT_MTE_PERM
// host, RAM (anon), a page-cache file mapping (NoTagAccess under v2, A.2.3) and a guest hypervisor.

function scenario(steps: string, extra = ''): string {
  return `
name: access-ended
host: { cpus: [{ count: 2, features: [mte3, mte_perm, s2fwb, nv] }] }
steps:
  - create_vm: { ipa_bits: 40 }
  - enable_cap: KVM_CAP_ARM_MTE
  - enable_cap: KVM_CAP_ARM_MTE_PERM
  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x80000000", memory_size: "256MiB", backing: anon }
  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x40000000", memory_size: "64MiB", backing: file-shared }
  - create_vcpu: { id: 0, el2: true }
${steps}
${extra}`;
}
const FIRST_ACCESS = 6;

/** The JSON step result (CONTRACT §3) of the first access, an STG to the file mapping at 0x40000010. */
function fileStgStep(result: Record<string, unknown>): Record<string, unknown> {
  return { index: FIRST_ACCESS, op: 'access', vcpu: 0, gpa: '0x40000010', access: 'stg', ...result };
}

/** The guest hypervisor maps IPA 0 (2 MiB) to `pa` with `attr`, then its L2 guest stores a tag at 0x1040 (A.2.8). */
function l1MapsThenL2Stg(pa: string, attr: string): string {
  return `  - guest_stage2:
      vcpu: 0
      map:
        - { ipa: "0x0", pa: "${pa}", size: "2MiB", attr: ${attr}, ap: rw }
  - access: { vcpu: 0, gpa: "0x1040", op: stg, level: 2 }`;
}

function run(yaml: string, kernel?: 'baseline' | 'v1' | 'v2' | 'drop-check') {
  const events: Envelope[] = [];
  const sink = (_bytes: Uint8Array, e: Envelope): void => void events.push(e);
  const outcome = runScenario(parseScenario(yaml, { file: 't.yaml' }), { sink, ...(kernel === undefined ? {} : { kernel }) });
  const bySeq = new Map(events.map((e) => [e.seq, e] as const));
  const requests = events.filter((e) => e.type === 'AccessRequested' && e.causation === 0n);
  const ends = events.filter((e): e is EnvelopeOf<'AccessEnded'> => e.type === 'AccessEnded');
  return { steps: outcome.result.steps, events, requests, ends, cause: (e: Envelope) => bySeq.get(e.causation)! };
}

describe('each access step ends in exactly one AccessEnded (the owner: KVM_RUN)', () => {
  it('completes: ok, caused by the AccessCompleted of the access (a first-touch write on RAM maps, then completes)', () => {
    const r = run(scenario('  - access: { vcpu: 0, gpa: "0x80000040", op: write }'));
    expect(r.requests).toHaveLength(1);
    expect(r.ends).toHaveLength(1);
    expect(r.cause(r.ends[0]!).type).toBe('AccessCompleted');
    expect(r.ends[0]!.data).toMatchObject({ step: FIRST_ACCESS, gpa: 0x8000_0040n, outcome: 'ok', ret: 0 });
    // The first abort: the translation fault that had the page mapped (EC 0x24 data abort from a lower
    // EL, WnR for the write, DFSC 0b0001LL translation fault; DOMAIN A.3.3, C §3.3).
    const esr = r.ends[0]!.data.esr!;
    expect([esr >> 26n, (esr >> 6n) & 1n, (esr & 0x3fn) >> 2n]).toEqual([0x24n, 1n, 1n]);
    expect(r.steps[FIRST_ACCESS]).toEqual({ index: FIRST_ACCESS, op: 'access', vcpu: 0, gpa: '0x80000040', access: 'write', outcome: 'ok', esr: '0x93c08045' });
  });

  it('exits (DOMAIN A.2.5): STG to a NoTagAccess page → -EFAULT, KVM_EXIT_MEMORY_FAULT, gpa the 4 KiB page, size 0x1000, flags 0x10', () => {
    const r = run(scenario('  - access: { vcpu: 0, gpa: "0x40000010", op: stg }'));
    expect(r.ends).toHaveLength(1);
    expect(r.cause(r.ends[0]!).type).toBe('MemoryFaultExit');
    expect(r.ends[0]!.data).toMatchObject({ outcome: 'exit', ret: -14, exit_reason: 39, exit_gpa: 0x4000_0000n, exit_size: 0x1000n, exit_flags: 0x10n });
    // The first abort is the first touch's translation fault (DFSC 0b0001LL, no TagAccess); the
    // tag-access permission fault (ISS2.TagAccess, bit 41) came after the NoTagAccess map (A.2.3).
    const faults = r.events.filter((e): e is EnvelopeOf<'Stage2FaultTaken'> => e.type === 'Stage2FaultTaken');
    expect(faults.map((f) => [f.data.kind, f.data.tag_access])).toEqual([['translation', false], ['permission', true]]);
    expect(r.ends[0]!.data.esr).toBe(faults[0]!.data.esr);
    expect((faults[1]!.data.esr >> 41n) & 1n).toBe(1n);
    expect(r.steps[FIRST_ACCESS]).toEqual(fileStgStep({
      outcome: 'exit',
      ret: -14,
      errno: 'EFAULT',
      exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x40000000', size: '0x1000', flags: '0x10' },
      esr: `0x${faults[0]!.data.esr.toString(16)}`, // A.3.3: the first abort, last key (CONTRACT §3)
    }));
  });

  it('retried (DOMAIN A.2.7): tag-alloc-retry gives the page tag storage, the access completes; caused by that AccessCompleted', () => {
    const r = run(scenario('  - access: { vcpu: 0, gpa: "0x40000010", op: stg }', 'policy: [tag-alloc-retry]'));
    expect(r.ends).toHaveLength(1);
    expect(r.cause(r.ends[0]!).type).toBe('AccessCompleted');
    expect(r.events.some((e) => e.type === 'PolicyDecided' && e.data.decision === 'allocate-tags-and-retry')).toBe(true);
    expect(r.ends[0]!.data.outcome).toBe('retried');
    expect(r.steps[FIRST_ACCESS]).toMatchObject({ outcome: 'retried' });
  });

  it('injected (A.2.7 inject-sea): an SEA into the guest, caused by InjectedAbort; the step carries the abort', () => {
    const r = run(scenario('  - access: { vcpu: 0, gpa: "0x40000010", op: stg }', 'policy: [inject-sea]'));
    expect(r.ends).toHaveLength(1);
    const cause = r.cause(r.ends[0]!);
    expect(cause.type).toBe('InjectedAbort');
    expect(r.ends[0]!.data).toMatchObject({ outcome: 'injected', abort_kind: 'sea', abort_target_level: 1 });
    expect(r.steps[FIRST_ACCESS]).toEqual(fileStgStep({
      outcome: 'injected',
      abort: { kind: 'sea', esr: `0x${(cause as EnvelopeOf<'InjectedAbort'>).data.esr.toString(16)}` },
      esr: `0x${r.ends[0]!.data.esr!.toString(16)}`,
    }));
  });

  it('injected into L1 (DOMAIN A.2.8): L1 maps its RAM NoTagAccess; an L2 STG is injected as a stage-2 abort into the guest hypervisor', () => {
    const steps = l1MapsThenL2Stg('0x80000000', 'normal_notagaccess');
    const r = run(scenario(steps));
    const step = FIRST_ACCESS + 1;
    expect(r.requests).toHaveLength(1);
    expect(r.ends).toHaveLength(1);
    expect(r.cause(r.ends[0]!).type).toBe('InjectedAbort');
    expect(r.ends[0]!.data).toMatchObject({ step, outcome: 'injected', abort_kind: 'stage2', abort_target_level: 2 });
    expect(r.steps[step]).toMatchObject({ outcome: 'injected', target: 'L1', abort: { kind: 'stage2' } });
  });

  it('exits with the L1 IPA (DOMAIN A.2.5 under nesting): L1 maps the file mapping normally, L0 has it NoTagAccess', () => {
    const steps = l1MapsThenL2Stg('0x40000000', 'normal');
    const r = run(scenario(steps));
    expect(r.ends).toHaveLength(1);
    expect(r.cause(r.ends[0]!).type).toBe('MemoryFaultExit');
    expect(r.ends[0]!.data).toMatchObject({ outcome: 'exit', ret: -14, exit_reason: 39, exit_gpa: 0x4000_1000n, exit_flags: 0x10n });
  });

  it('error (errno): MTE without MTE_PERM, a memslot registered before MTE; its fault on a VMA without VM_MTE_ALLOWED fails KVM_RUN -EFAULT with no exit (B §5.4 rows 5, 10)', () => {
    const yaml = `
name: access-ended
host: { cpus: [{ count: 1, features: [mte3, mte_perm, s2fwb] }] }
steps:
  - create_vm: {}
  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x40000000", memory_size: "64MiB", backing: file-shared }
  - enable_cap: KVM_CAP_ARM_MTE
  - create_vcpu: { id: 0 }
  - access: { vcpu: 0, gpa: "0x40000010", op: read }
`;
    const r = run(yaml, 'v2');
    expect(r.ends).toHaveLength(1);
    expect(r.cause(r.ends[0]!).type).toBe('KvmRunFailed');
    expect(r.ends[0]!.data).toMatchObject({ outcome: 'error', ret: -14 });
    expect(r.steps[4]).toMatchObject({ outcome: 'error', ret: -14, errno: 'EFAULT' });
  });

  it('error: an L2 access from a vCPU without EL2 fails -EINVAL, caused by nested refusing it', () => {
    const yaml = scenario('  - create_vcpu: { id: 1 }\n  - access: { vcpu: 1, gpa: "0x1040", op: read, level: 2 }');
    const r = run(yaml);
    expect(r.ends).toHaveLength(1);
    expect(r.cause(r.ends[0]!).type).toBe('KvmRunFailed');
    expect(r.steps[FIRST_ACCESS + 1]).toMatchObject({ outcome: 'error', ret: -22, errno: 'EINVAL' });
  });

  it('a vCPU that was never created: -EBADF and no event at all (the ioctl has no fd)', () => {
    const r = run(scenario('  - access: { vcpu: 5, gpa: "0x80000040", op: read }'));
    expect(r.requests).toHaveLength(0);
    expect(r.ends).toHaveLength(0);
    expect(r.steps[FIRST_ACCESS]).toEqual({ index: FIRST_ACCESS, op: 'access', vcpu: 5, gpa: '0x80000040', access: 'read', outcome: 'error', ret: -9, errno: 'EBADF', reason: 'vCPU 5 was not created' });
  });

  it('many accesses: one AccessEnded per AccessRequested, in order, each after its own request', () => {
    const steps = ['0x80000040 write', '0x80000040 read', '0x40000010 stg', '0x40000020 ldg', '0x80001000 stg', '0x40001000 read']
      .map((s) => s.split(' '))
      .map(([gpa, op]) => `  - access: { vcpu: 0, gpa: "${gpa}", op: ${op} }`)
      .join('\n');
    const r = run(scenario(steps));
    expect(r.ends.map((e) => e.data.step)).toEqual(r.requests.map((e) => (e as EnvelopeOf<'AccessRequested'>).data.step));
    for (let i = 0; i < r.ends.length; i++) {
      expect(r.ends[i]!.seq > r.requests[i]!.seq).toBe(true);
      if (i + 1 < r.requests.length) expect(r.ends[i]!.seq < r.requests[i + 1]!.seq).toBe(true);
    }
    expect(r.steps.slice(FIRST_ACCESS).map((s) => s['outcome'])).toEqual(['ok', 'ok', 'exit', 'exit', 'ok', 'ok']);
  });
});
