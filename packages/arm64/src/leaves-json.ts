/** The JSON `stage2` leaves of a table (CONTRACT §3). */
import { decodeDescriptor } from './decode-descriptor';
import { descToBigInt } from './descriptor';
import type { TranslationTable } from './translation-table';

/** One `stage2` entry of the JSON result (CONTRACT §3). */
export interface Stage2LeafJson {
  readonly ipa: string;
  readonly level: number;
  readonly size: string;
  readonly pa: string;
  readonly desc: string;
  readonly memattr: string;
  readonly notagaccess: boolean;
  readonly tagged: boolean;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** Every valid leaf of `table`, in IPA order, in the CONTRACT §3 JSON shape. */
export function stage2LeavesJson(table: TranslationTable): Stage2LeafJson[] {
  const out: Stage2LeafJson[] = [];
  const options = { fwb: table.fwb, mtePerm: table.mtePerm };
  table.forEachLeaf((ipa, level, lo, hi) => {
    const d = decodeDescriptor(descToBigInt(lo, hi), level, options);
    if (d.kind !== 'block' && d.kind !== 'page') return;
    out.push({
      ipa: hex(ipa),
      level,
      size: hex(d.size),
      pa: hex(d.outputAddress),
      desc: hex(descToBigInt(lo, hi)),
      memattr: `0b${d.memAttrBits.toString(2).padStart(4, '0')}`,
      notagaccess: d.noTagAccess,
      tagged: d.tagged,
    });
  });
  return out;
}
