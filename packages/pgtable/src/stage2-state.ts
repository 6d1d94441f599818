/**
 * The pgtable package's state as a fold of events (ARCHITECTURE "Event flow": every state is a fold
 * of the events its package subscribes to): host FWB / FEAT_MTE_PERM from HostCpusProbed, one table
 * per VM from VmCreated, and the table contents from Stage2Mapped / Stage2Unmapped / Stage2Relaxed /
 * Stage2BlockSplit. Replaying a log through `evolve` rebuilds every table exactly.
 */
import type { Envelope } from '@mteperm/events';
import { DEFAULT_IPA_BITS, descFromBigInt } from '@mteperm/arm64';
import type { Stage2Host } from './prot';
import { Stage2PageTable } from './stage2-page-table';

export { DEFAULT_IPA_BITS } from '@mteperm/arm64';

export class Stage2State {
  private hostCaps: Stage2Host = { fwb: false, mtePerm: false };
  private readonly tables = new Map<number, Stage2PageTable>();

  get host(): Stage2Host {
    return this.hostCaps;
  }

  /** The stage-2 table of `vm`, if the VM was created. */
  table(vm: number): Stage2PageTable | undefined {
    return this.tables.get(vm);
  }

  /** Folds one recorded event into the state; events of other packages are ignored. */
  evolve(envelope: Envelope): void {
    switch (envelope.type) {
      case 'HostCpusProbed':
        this.hostCaps = {
          fwb: envelope.data.s2fwb,
          mtePerm: envelope.data.mte_perm,
          mteAsync: envelope.data.mte_async !== false,
          mteAsymm: envelope.data.mte_asym_fault !== false,
        };
        return;
      case 'VmCreated': {
        if (envelope.data.ret !== 0) return;
        const created = Stage2PageTable.create({ ...this.hostCaps, ipaBits: envelope.data.ipa_bits || DEFAULT_IPA_BITS });
        if (created.ok) this.tables.set(envelope.vm, created.value);
        return;
      }
      case 'Stage2Mapped':
      case 'Stage2Relaxed': {
        const { lo, hi } = descFromBigInt(envelope.data.desc);
        this.tables.get(envelope.vm)?.installLeaf(Number(envelope.data.ipa), envelope.data.level, lo, hi);
        return;
      }
      case 'Stage2Unmapped':
        this.tables.get(envelope.vm)?.unmap(Number(envelope.data.ipa), Number(envelope.data.size));
        return;
      case 'Stage2BlockSplit': {
        const table = this.tables.get(envelope.vm);
        if (table === undefined) return;
        // An unmap that follows re-splits deterministically; split here only if still a block.
        const w = table.walk(Number(envelope.data.ipa), table.createWalkResult());
        if (w.found && w.level === envelope.data.level) table.split(Number(envelope.data.ipa));
        return;
      }
      default:
        return;
    }
  }
}
