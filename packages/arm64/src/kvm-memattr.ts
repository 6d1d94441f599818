/**
 * The four MemAttr values KVM writes (MT_S2_* or MT_S2_FWB_*, DOMAIN B §4.2), as one table per FWB
 * setting: memattr.ts and fwb.ts each keep their own table, this is the one lookup over either.
 */
import type { MemType } from './vocabulary';

export interface KvmMemAttrTable {
  readonly normal_wb: number;
  readonly normal_nc: number;
  readonly device_ngnre: number;
  readonly normal_wb_notagaccess: number;
}

/** MemAttr for a KVM memory type from `table`; NoTagAccess only exists for Normal WB (DOMAIN A.2.3). */
export function encodeFromTable(table: KvmMemAttrTable, memType: MemType, noTagAccess: boolean): number | undefined {
  if (memType === 'normal_wb') return noTagAccess ? table.normal_wb_notagaccess : table.normal_wb;
  return noTagAccess ? undefined : table[memType];
}
