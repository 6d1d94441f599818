import { accessRequested, at, busSpec, hostProbed, mapRequested, vmCreated } from '@mteperm/bus/testing';
import { attachPgtable } from './bus-adapter';
import { Stage2State } from './stage2-state';

const pgtable = busSpec((bus) => attachPgtable(bus), { vm: 1 });
/** An FWB host with FEAT_MTE_PERM (unless told otherwise) and VM 1. */
const host = (s2fwb = true, mtePerm = true) => pgtable.given(hostProbed({ s2fwb, mtePerm }), vmCreated());
const vcpu0 = { vm: 1, vcpu: 0 };

describe('pgtable on the bus', () => {
  it('maps a NoTagAccess page (DOMAIN A.2.3): Stage2Mapped with MemAttr 0b1110 under FWB', () => {
    host()
      .when(mapRequested(0x1000_0000n, 0x8_0000_0000n, 0x1000n, { no_tag_access: true }))
      .then({ type: 'Stage2Mapped', data: { ipa: 0x1000_0000n, size: 0x1000n, level: 3, desc: 0x0040_0008_0000_07fbn }, causedBy: 'when' });
  });

  it('turns an STG to that page into Stage2FaultTaken with ISS2.TagAccess, level-3 permission (DOMAIN A.2.5)', () => {
    host()
      .given(mapRequested(0x1000_0000n, 0x8_0000_0000n, 0x1000n, { no_tag_access: true }))
      .when(at(vcpu0, accessRequested(0x1000_0040n, 'stg', { step: 8 })))
      .then({
        type: 'Stage2FaultTaken',
        data: { ipa: 0x1000_0040n, esr: 0x0000_0200_9200_004fn, kind: 'permission', level: 3, tag_access: true, op: 'stg' },
        vcpu: 0,
        causedBy: 'when',
      });
  });

  it('completes a read with the PA', () => {
    host()
      .given(mapRequested(0x1000_0000n, 0x8_0000_0000n, 0x1000n))
      .when(at(vcpu0, accessRequested(0x1000_0008n, 'read', { step: 1 })))
      .then({ type: 'AccessCompleted', data: { gpa: 0x1000_0008n, op: 'read', pa: 0x8_0000_0008n, tags_ignored: false }, causedBy: 'when' });
  });

  it('reports a write to an unmapped gpa as a translation fault: DFSC level 1, WnR, ISV with SAS 8 bytes (DOMAIN A.3.3)', () => {
    host()
      .when(at(vcpu0, accessRequested(0x8000_0000n, 'write', { step: 2 })))
      .then({ type: 'Stage2FaultTaken', data: { ipa: 0x8000_0000n, esr: 0x93c0_8045n, kind: 'translation', level: 1, tag_access: false, op: 'write' } });
  });

  it('leaves an L2 access (level 2) to the nested package: no event of its own (DOMAIN A.2.8)', () => {
    host().when(at(vcpu0, accessRequested(0x8000_0000n, 'write', { level: 2 }))).then();
  });

  it("re-executes the vCPU's access after a map marked retry_access, caused by Stage2Mapped; read-only → permission fault (DOMAIN A.3.2)", () => {
    host()
      // vCPU 0 writes an unmapped page; vCPU 1 has an access of its own pending, which must not be re-executed.
      .given(at(vcpu0, accessRequested(0x4000_0008n, 'write', { step: 7 })), at({ vm: 1, vcpu: 1 }, accessRequested(0x5000_0000n, 'read', { step: 8 })))
      .when(at(vcpu0, mapRequested(0x4000_0000n, 0x8_0000_0000n, 0x1000n, { w: false, retry_access: true })))
      .then(
        { type: 'Stage2Mapped', causedBy: 'when' },
        { type: 'Stage2FaultTaken', vcpu: 0, causedBy: 'Stage2Mapped', data: { ipa: 0x4000_0008n, esr: 0x93c0_804fn, kind: 'permission', level: 3, tag_access: false, op: 'write' } },
      );
  });

  it('relaxing W with retry_access completes the write, caused by Stage2Relaxed', () => {
    host()
      .given(at(vcpu0, accessRequested(0x4000_0008n, 'write', { step: 7 })), at(vcpu0, mapRequested(0x4000_0000n, 0x8_0000_0000n, 0x1000n, { w: false, retry_access: true })))
      .when(at(vcpu0, { type: 'Stage2RelaxRequested', data: { ipa: 0x4000_0000n, r: true, w: true, x: false, sw: 0, retry_access: true } }))
      .then(
        { type: 'Stage2Relaxed', causedBy: 'when' },
        { type: 'AccessCompleted', vcpu: 0, causedBy: 'Stage2Relaxed', data: { gpa: 0x4000_0008n, op: 'write', pa: 0x8_0000_0008n, tags_ignored: false } },
      );
  });

  it('re-executes nothing for a map without the mark, or for a refused relax (software bits set: B §4.3)', () => {
    const pending = host().given(at(vcpu0, accessRequested(0x4000_0008n, 'write', { step: 7 })), mapRequested(0x4000_0000n, 0x8_0000_0000n, 0x1000n, { w: false }));
    pending.when(at(vcpu0, mapRequested(0x4000_1000n, 0x8_0000_1000n, 0x1000n))).thenTypes('Stage2Mapped');
    pending
      .when(at(vcpu0, { type: 'Stage2RelaxRequested', data: { ipa: 0x4000_0000n, r: true, w: true, x: false, sw: 1, retry_access: true } }))
      .thenTypes('Stage2RequestRefused');
  });

  it('refuses NoTagAccess on a host without FEAT_MTE_PERM with Stage2RequestRefused -22 (DOMAIN B §4.3)', () => {
    host(true, false)
      .when(mapRequested(0x1000_0000n, 0x8_0000_0000n, 0x1000n, { no_tag_access: true }))
      .then({ type: 'Stage2RequestRefused', data: { request: 'map', ipa: 0x1000_0000n, size: 0x1000n, ret: -22, code: 'MTEPERM_S2_PROT' } });
  });

  it('replay: folding the published events into a fresh state rebuilds the same leaves (ARCHITECTURE event flow)', () => {
    const run = host(false).given(
      mapRequested(0x4000_0000n, 0x80_4000_0000n, 0x4000_0000n, { no_tag_access: true }),
      mapRequested(0x4020_1000n, 0x9_0000_0000n, 0x1000n), // splits the 1 GiB block twice
      mapRequested(0x4020_1000n, 0x9_0000_0000n, 0x1000n, { no_tag_access: true }), // break-before-make
      { type: 'Stage2UnmapRequested', data: { ipa: 0x4040_0000n, size: 0x20_3000n } },
      { type: 'Stage2RelaxRequested', data: { ipa: 0x4020_1000n, r: true, w: true, x: true, sw: 0 } },
    );
    run
      .when({ type: 'Stage2RelaxRequested', data: { ipa: 0x4020_1000n, r: true, w: true, x: false, sw: 1 } })
      .then({ type: 'Stage2RequestRefused', data: { request: 'relax', ipa: 0x4020_1000n, size: 0x1000n, ret: -22, code: 'MTEPERM_S2_SW_BITS' } })
      .and(({ log, subject }) => {
        const types = log.map((e) => e.type);
        expect(types.filter((t) => t === 'Stage2BlockSplit')).toHaveLength(3);
        expect(types.filter((t) => t === 'Stage2Relaxed')).toHaveLength(1);
        const replayed = new Stage2State();
        for (const e of log) replayed.evolve(e);
        const live = subject.state.table(1)!.leafDescriptors();
        expect(live.length).toBeGreaterThan(1000);
        expect(replayed.table(1)!.leafDescriptors()).toEqual(live);
        // the relaxed page kept NoTagAccess (DOMAIN A.2.4) and lost XN
        expect(live.find((l) => l.ipa === 0x4020_1000n)!.desc).toBe(0x0000_0009_0000_07d3n);
      });
  });
});
