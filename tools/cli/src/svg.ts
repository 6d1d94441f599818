import type { ContractResult, LeafResult } from '@mteperm/runtime';
import { humanSize } from './report';
import type { RegionInfo } from './report';

const WIDTH = 900;
const BAR_X = 220;
const BAR_W = WIDTH - BAR_X - 20;
const ROW_H = 46;
const TOP = 56;

const COLOURS = {
  tagged: '#2e7d32',
  untagged: '#81c784',
  notagaccess: '#f9a825',
  device: '#5c6bc0',
  unmapped: '#e0e0e0',
  exit: '#c62828',
} as const;

function colourOf(l: LeafResult): string {
  if (l.memattr === '0b0001') return COLOURS.device;
  if (l.notagaccess) return COLOURS.notagaccess;
  return l.tagged ? COLOURS.tagged : COLOURS.untagged;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A map of the guest physical address space: one band per memslot (address spaces are sparse, so
 * each region gets its own linear scale), stage-2 leaves coloured by what they are (tagged,
 * NoTagAccess, device, unmapped), and the accesses that ended in an exit marked where they hit.
 */
export function renderSvgMap(result: ContractResult, regions: readonly RegionInfo[]): string {
  const rows = [...regions].sort((a, b) => (a.base < b.base ? -1 : 1));
  const height = TOP + rows.length * ROW_H + 70;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="10" y="22" font-size="16" font-weight="bold">${esc(result.scenario)}: guest physical address space (kernel ${esc(result.kernel)})</text>`);
  out.push(`<text x="10" y="40" fill="#555">one band per memslot, each to its own scale; ${result.stage2.length} stage-2 leaves</text>`);
  const exits = result.steps.filter((s) => (s as Record<string, unknown>)['outcome'] === 'exit' || (s as Record<string, unknown>)['outcome'] === 'error');
  rows.forEach((r, i) => {
    const y = TOP + i * ROW_H;
    const scale = (ipa: bigint): number => BAR_X + Number(((ipa - r.base) * BigInt(Math.round(BAR_W * 1000))) / r.size) / 1000;
    out.push(`<text x="10" y="${y + 16}" font-weight="bold">slot ${r.slot}: ${esc(r.backing)}</text>`);
    out.push(`<text x="10" y="${y + 32}" fill="#555">0x${r.base.toString(16)} + ${humanSize(r.size)}</text>`);
    out.push(`<rect x="${BAR_X}" y="${y + 4}" width="${BAR_W}" height="28" fill="${COLOURS.unmapped}" stroke="#9e9e9e"/>`);
    for (const l of result.stage2) {
      const ipa = BigInt(l.ipa);
      if (ipa < r.base || ipa >= r.base + r.size) continue;
      const x0 = scale(ipa);
      const x1 = scale(ipa + BigInt(l.size) > r.base + r.size ? r.base + r.size : ipa + BigInt(l.size));
      out.push(`<rect x="${x0.toFixed(2)}" y="${y + 4}" width="${Math.max(1, x1 - x0).toFixed(2)}" height="28" fill="${colourOf(l)}"><title>${esc(`${l.ipa} ${l.size} MemAttr ${l.memattr}${l.notagaccess ? ' NoTagAccess' : ''}`)}</title></rect>`);
    }
    for (const s of exits) {
      const gpa = BigInt(String((s as Record<string, unknown>)['gpa']));
      if (gpa < r.base || gpa >= r.base + r.size) continue;
      const x = scale(gpa);
      out.push(`<path d="M ${x.toFixed(2)} ${y + 36} l -6 9 l 12 0 z" fill="${COLOURS.exit}"><title>${esc(`step ${s.index}: ${String((s as Record<string, unknown>)['access'])} at ${gpa.toString(16)}`)}</title></path>`);
    }
  });
  const ly = TOP + rows.length * ROW_H + 24;
  const legend: Array<[string, string]> = [
    [COLOURS.tagged, 'Normal WB, tagged'],
    [COLOURS.untagged, 'Normal WB, untagged'],
    [COLOURS.notagaccess, 'NoTagAccess'],
    [COLOURS.device, 'Device'],
    [COLOURS.unmapped, 'unmapped'],
    [COLOURS.exit, 'exit / error'],
  ];
  legend.forEach(([c, label], i) => {
    const x = 10 + i * 148;
    out.push(`<rect x="${x}" y="${ly}" width="14" height="14" fill="${c}" stroke="#9e9e9e"/><text x="${x + 20}" y="${ly + 12}">${label}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
