import { EventBus } from '@mteperm/bus';
import type { Envelope, MteEvent } from '@mteperm/events';
import { SAMPLE_EVENTS } from '@mteperm/events/testing';
import { attachPgtable } from './bus-adapter';
import { Stage2State } from './stage2-state';

function setup(fwb = true, mtePerm = true) {
  const bus = new EventBus();
  const seen: Envelope[] = [];
  bus.all().subscribe((e) => seen.push(e));
  const { state } = attachPgtable(bus);
  bus.publish({ type: 'HostCpusProbed', data: { ...SAMPLE_EVENTS.HostCpusProbed.data, s2fwb: fwb, mte_perm: mtePerm } });
  bus.publish({ type: 'VmCreated', data: { ipa_bits: 40, ret: 0 } }, { vm: 1 });
  return { bus, seen, state };
}

const map = (ipa: bigint, pa: bigint, size: bigint, extra: Partial<Extract<MteEvent, { type: 'Stage2MapRequested' }>['data']> = {}): MteEvent => ({
  type: 'Stage2MapRequested',
  data: { ipa, pa, size, mem_type: 'normal_wb', no_tag_access: false, r: true, w: true, x: false, sw: 0, ...extra },
});

describe('pgtable on the bus', () => {
  it('maps a NoTagAccess page and turns an STG into Stage2FaultTaken with TagAccess (DOMAIN A.2.3, A.2.5)', () => {
    const { bus, seen } = setup();
    const req = bus.publish(map(0x1000_0000n, 0x8_0000_0000n, 0x1000n, { no_tag_access: true }), { vm: 1, vcpu: 0 });
    const acc = bus.publish({ type: 'AccessRequested', data: { step: 8, gpa: 0x1000_0040n, op: 'stg', level: 1, tcf: 'sync', s1: 'tagged' } }, { vm: 1, vcpu: 0 });
    const after = seen.filter((e) => e.seq > req.seq).map((e) => ({ type: e.type, data: e.data, causation: e.causation }));
    expect(after).toEqual([
      { type: 'Stage2Mapped', data: { ipa: 0x1000_0000n, size: 0x1000n, level: 3, desc: 0x0040_0008_0000_07fbn }, causation: req.seq },
      { type: 'AccessRequested', data: expect.anything(), causation: 0n },
      {
        type: 'Stage2FaultTaken',
        data: { ipa: 0x1000_0040n, esr: 0x0000_0200_9200_004fn, kind: 'permission', level: 3, tag_access: true, op: 'stg' },
        causation: acc.seq,
      },
    ]);
  });

  it('completes a read with the PA, and reports a translation fault for an unmapped gpa', () => {
    const { bus, seen } = setup();
    bus.publish(map(0x1000_0000n, 0x8_0000_0000n, 0x1000n), { vm: 1 });
    bus.publish({ type: 'AccessRequested', data: { step: 1, gpa: 0x1000_0008n, op: 'read', level: 1, tcf: 'sync', s1: 'tagged' } }, { vm: 1, vcpu: 0 });
    bus.publish({ type: 'AccessRequested', data: { step: 2, gpa: 0x8000_0000n, op: 'write', level: 1, tcf: 'sync', s1: 'tagged' } }, { vm: 1, vcpu: 0 });
    bus.publish({ type: 'AccessRequested', data: { step: 3, gpa: 0x8000_0000n, op: 'write', level: 2, tcf: 'sync', s1: 'tagged' } }, { vm: 1, vcpu: 0 });
    const out = seen.filter((e) => e.type === 'AccessCompleted' || e.type === 'Stage2FaultTaken').map((e) => e.data);
    expect(out).toEqual([
      { gpa: 0x1000_0008n, op: 'read', pa: 0x8_0000_0008n, tags_ignored: false },
      { ipa: 0x8000_0000n, esr: 0x93c0_8045n, kind: 'translation', level: 1, tag_access: false, op: 'write' },
    ]);
  });

  it('re-executes the vCPU\'s access after a map or relax marked retry_access, caused by the event that fixed it', () => {
    const { bus, seen } = setup();
    // vCPU 0 writes an unmapped page: translation fault (ESR_EL2 DFSC level 1, WnR).
    const acc = bus.publish({ type: 'AccessRequested', data: { step: 7, gpa: 0x4000_0008n, op: 'write', level: 1, tcf: 'sync', s1: 'tagged' } }, { vm: 1, vcpu: 0 });
    // vCPU 1 has an access of its own pending: it must not be the one re-executed.
    bus.publish({ type: 'AccessRequested', data: { step: 8, gpa: 0x5000_0000n, op: 'read', level: 1, tcf: 'sync', s1: 'tagged' } }, { vm: 1, vcpu: 1 });
    const fault = seen.find((e) => e.type === 'Stage2FaultTaken' && e.causation === acc.seq)!;
    // Mapped read-only (dirty logging): the re-executed write takes a permission fault (DFSC 0b001111, WnR).
    const req = bus.publish(map(0x4000_0000n, 0x8_0000_0000n, 0x1000n, { w: false, retry_access: true }), { vm: 1, vcpu: 0, causation: fault.seq });
    const mapped = seen.find((e) => e.type === 'Stage2Mapped' && e.causation === req.seq)!;
    const rerun = seen.filter((e) => e.seq > mapped.seq);
    expect(rerun.map((e) => ({ type: e.type, vcpu: e.vcpu, causation: e.causation, data: e.data }))).toEqual([
      { type: 'Stage2FaultTaken', vcpu: 0, causation: mapped.seq, data: { ipa: 0x4000_0008n, esr: 0x93c0_804fn, kind: 'permission', level: 3, tag_access: false, op: 'write' } },
    ]);
    // Relaxing W with retry_access: the write completes, caused by Stage2Relaxed.
    const relax = bus.publish({ type: 'Stage2RelaxRequested', data: { ipa: 0x4000_0000n, r: true, w: true, x: false, sw: 0, retry_access: true } }, { vm: 1, vcpu: 0, causation: rerun[0]!.seq });
    const relaxed = seen.find((e) => e.type === 'Stage2Relaxed' && e.causation === relax.seq)!;
    expect(seen.at(-1)).toEqual(
      expect.objectContaining({ type: 'AccessCompleted', vcpu: 0, causation: relaxed.seq, data: { gpa: 0x4000_0008n, op: 'write', pa: 0x8_0000_0008n, tags_ignored: false } }),
    );
    // Without the mark, or when the request is refused, nothing is re-executed.
    const n = seen.length;
    bus.publish(map(0x4000_1000n, 0x8_0000_1000n, 0x1000n), { vm: 1, vcpu: 0 });
    expect(seen.slice(n).map((e) => e.type)).toEqual(['Stage2MapRequested', 'Stage2Mapped']);
    const m = seen.length;
    bus.publish({ type: 'Stage2RelaxRequested', data: { ipa: 0x4000_0000n, r: true, w: true, x: false, sw: 1, retry_access: true } }, { vm: 1, vcpu: 0 });
    expect(seen.slice(m).map((e) => e.type)).toEqual(['Stage2RelaxRequested', 'Stage2RequestRefused']);
  });

  it('refuses NoTagAccess on a host without FEAT_MTE_PERM with Stage2RequestRefused -22 (DOMAIN B §4.3)', () => {
    const { bus, seen } = setup(true, false);
    bus.publish(map(0x1000_0000n, 0x8_0000_0000n, 0x1000n, { no_tag_access: true }), { vm: 1 });
    expect(seen.at(-1)).toMatchObject({
      type: 'Stage2RequestRefused',
      data: { request: 'map', ipa: 0x1000_0000n, size: 0x1000n, ret: -22, code: 'MTEPERM_S2_PROT' },
    });
  });

  it('replay: folding the published events into a fresh state rebuilds the same leaves (ARCHITECTURE event flow)', () => {
    const { bus, seen, state } = setup(false);
    bus.publish(map(0x4000_0000n, 0x80_4000_0000n, 0x4000_0000n, { no_tag_access: true }), { vm: 1 });
    bus.publish(map(0x4020_1000n, 0x9_0000_0000n, 0x1000n), { vm: 1 }); // splits the 1 GiB block twice
    bus.publish(map(0x4020_1000n, 0x9_0000_0000n, 0x1000n, { no_tag_access: true }), { vm: 1 }); // break-before-make
    bus.publish({ type: 'Stage2UnmapRequested', data: { ipa: 0x4040_0000n, size: 0x20_3000n } }, { vm: 1 });
    bus.publish({ type: 'Stage2RelaxRequested', data: { ipa: 0x4020_1000n, r: true, w: true, x: true, sw: 0 } }, { vm: 1 });
    bus.publish({ type: 'Stage2RelaxRequested', data: { ipa: 0x4020_1000n, r: true, w: true, x: false, sw: 1 } }, { vm: 1 });
    const types = seen.map((e) => e.type);
    expect(types.filter((t) => t === 'Stage2BlockSplit')).toHaveLength(3);
    expect(types.filter((t) => t === 'Stage2Relaxed')).toHaveLength(1);
    expect(seen.at(-1)).toMatchObject({ type: 'Stage2RequestRefused', data: { request: 'relax', ret: -22, code: 'MTEPERM_S2_SW_BITS' } });

    const replayed = new Stage2State();
    for (const e of seen) replayed.evolve(e);
    const live = state.table(1)!.leafDescriptors();
    expect(live.length).toBeGreaterThan(1000);
    expect(replayed.table(1)!.leafDescriptors()).toEqual(live);
    // the relaxed page kept NoTagAccess (DOMAIN A.2.4) and lost XN
    expect(live.find((l) => l.ipa === 0x4020_1000n)!.desc).toBe(0x0000_0009_0000_07d3n);
  });
});
