import type { StepResult } from '@mteperm/runtime';
import type { ComparedResult, Comparison } from './compare';

type Tone = 'ok' | 'exit' | 'error' | 'injected' | 'plain';

interface Cell {
  readonly text: string;
  readonly tone: Tone;
}

const ANSI: Record<Tone, string> = { ok: '\x1b[32m', exit: '\x1b[33m', error: '\x1b[31m', injected: '\x1b[35m', plain: '' };
const RESET = '\x1b[0m';
const BOLD = '\x1b[1m';

/** Short kernel names of exits: the table has four columns to fit on one terminal line. */
function shortReason(reason: unknown): string {
  return typeof reason === 'string' ? reason.replace(/^KVM_EXIT_/, '') : String(reason);
}

function retCell(s: StepResult): Cell {
  const ret = s['ret'];
  if (typeof ret !== 'number') return { text: '', tone: 'plain' };
  if (ret < 0) return { text: `-${String(s['errno'] ?? -ret)}`, tone: 'error' };
  return { text: String(ret), tone: 'ok' };
}

/** What one step did under one kernel, in a few words (the JSON has every field). */
export function stepCell(s: StepResult): Cell {
  switch (s.op) {
    case 'access': {
      const exit = s['exit'] as Record<string, unknown> | undefined;
      switch (s['outcome']) {
        case 'ok':
          return { text: 'ok', tone: 'ok' };
        case 'retried':
          return { text: 'retried, ok', tone: 'ok' };
        case 'exit': {
          const where = exit?.['flags'] !== undefined ? ` flags=${String(exit['flags'])}` : exit?.['phys_addr'] !== undefined ? ` ${String(exit['phys_addr'])}` : '';
          const ret = typeof s['ret'] === 'number' && s['ret'] < 0 ? ` -${String(s['errno'])}` : '';
          return { text: `exit ${shortReason(exit?.['reason'])}${where}${ret}`, tone: 'exit' };
        }
        case 'injected': {
          const abort = s['abort'] as Record<string, unknown> | undefined;
          return { text: `injected ${String(abort?.['kind'] ?? '')}${s['target'] === 'L1' ? ' to L1' : ''}`.trimEnd(), tone: 'injected' };
        }
        case 'error':
          return { text: `error -${String(s['errno'] ?? s['ret'])}`, tone: 'error' };
        default:
          return { text: String(s['outcome']), tone: 'plain' };
      }
    }
    case 'migrate': {
      if (s['accepted'] === true) return { text: 'accepted', tone: 'ok' };
      const f = s['failed'] as Record<string, unknown> | null;
      return { text: f === null ? 'refused' : `refused at ${String(f['step'])} ${String(f['cap'] ?? f['op'])} -${String(f['errno'] ?? f['ret'])}`, tone: 'error' };
    }
    case 'get_one_reg':
      return s['value'] !== undefined ? { text: String(s['value']), tone: 'plain' } : retCell(s);
    case 'guest_stage2': {
      const c = retCell(s);
      const leaves = s['leaves'];
      return Array.isArray(leaves) ? { text: `${c.text}, ${leaves.length} leaves`, tone: c.tone } : c;
    }
    default:
      return retCell(s);
  }
}

/** The row label: index, op and what the step names (cap, slot, vCPU and address). */
function stepLabel(s: StepResult): string {
  const parts = [String(s.index).padStart(3), s.op];
  if (typeof s['cap'] === 'string') parts.push(s['cap']);
  if (typeof s['slot'] === 'number') parts.push(`slot ${s['slot']}`);
  if (s.op === 'access') parts.push(`vcpu${String(s['vcpu'])} ${String(s['access'])} ${String(s['gpa'])}`);
  else if (typeof s['vcpu'] === 'number') parts.push(`vcpu${s['vcpu']}`);
  return parts.join(' ');
}

/** Top-level fields (with one level of nesting) whose values differ: the cells alone may look alike. */
function differingFields(entries: readonly StepResult[]): string[] {
  const keys = new Set<string>();
  for (const e of entries) for (const k of Object.keys(e)) keys.add(k);
  const out: string[] = [];
  for (const k of keys) {
    if (k === 'index') continue;
    const vals = entries.map((e) => e[k]);
    const texts = vals.map((v) => JSON.stringify(v));
    if (texts.every((t) => t === texts[0])) continue;
    const objs = vals.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v));
    if (objs.length === vals.length) {
      const sub = new Set<string>();
      for (const o of objs) for (const sk of Object.keys(o)) sub.add(sk);
      for (const sk of sub) {
        const st = objs.map((o) => JSON.stringify(o[sk]));
        if (!st.every((t) => t === st[0])) out.push(`${k}.${sk}`);
      }
    } else {
      out.push(k);
    }
  }
  return out;
}

function leafSummary(r: ComparedResult): Cell {
  const tagged = r.stage2.filter((l) => l.tagged).length;
  const nta = r.stage2.filter((l) => l.notagaccess).length;
  return { text: `${r.stage2.length} ${r.stage2.length === 1 ? 'leaf' : 'leaves'}: ${tagged} tagged, ${nta} NoTagAccess`, tone: 'plain' };
}

/** Visible width (ANSI codes take no columns). */
function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - text.length));
}

/**
 * The comparison for a person: a row per step, a column per kernel, only the rows that differ
 * unless `all`; cells that differ from the first kernel's are coloured when `colour` is set.
 */
export function formatComparison(c: Comparison, options: { all: boolean; colour: boolean }): string {
  const kernels = c.kernels;
  const results = kernels.map((k) => c.results[k] as ComparedResult);
  const first = results[0];
  const out: string[] = [];
  const steps = first?.steps.length ?? 0;
  out.push(`${c.scenario}: ${steps} steps under ${kernels.join(', ')}; ${c.differences.length} step${c.differences.length === 1 ? '' : 's'} differ${c.differences.length === 1 ? 's' : ''}`);
  if (first === undefined) return `${out.join('\n')}\n`;

  const differing = new Set(c.differences.map((d) => d.index));
  const rows: { label: string; cells: Cell[]; note: string; differs: boolean }[] = [];
  for (let i = 0; i < steps; i++) {
    const entries = results.map((r) => r.steps[i] as StepResult);
    const head = entries[0] as StepResult;
    const differs = differing.has(head.index);
    if (!differs && !options.all) continue;
    const cells = entries.map(stepCell);
    const sameText = cells.every((x) => x.text === (cells[0] as Cell).text);
    // When the short cells look alike the difference is in a field they leave out: name it.
    const note = differs && sameText ? `differs in ${differingFields(entries).join(', ')}` : '';
    rows.push({ label: stepLabel(head), cells, note, differs });
  }
  const leafCells = results.map(leafSummary);
  const leavesDiffer = !leafCells.every((x) => x.text === (leafCells[0] as Cell).text);
  if (leavesDiffer || options.all) rows.push({ label: '    stage 2 at the end', cells: leafCells, note: '', differs: leavesDiffer });

  if (rows.length === 0) {
    out.push('every step gives the same result under every kernel (--all shows them)');
    return `${out.join('\n')}\n`;
  }
  const labelW = Math.max(4, ...rows.map((r) => r.label.length));
  const colW = kernels.map((k, j) => Math.max(k.length, ...rows.map((r) => (r.cells[j] as Cell).text.length)));
  const header = [pad('step', labelW), ...kernels.map((k, j) => pad(k, colW[j] as number))].join('  ');
  out.push('');
  out.push(options.colour ? `${BOLD}${header.trimEnd()}${RESET}` : header.trimEnd());
  for (const r of rows) {
    const base = (r.cells[0] as Cell).text;
    const cells = r.cells.map((cell, j) => {
      const text = pad(cell.text, colW[j] as number);
      // Colour only what differs from the first kernel's cell, so the eye goes to the differences.
      if (!options.colour || !r.differs || (j > 0 && cell.text === base)) return text;
      const code = ANSI[cell.tone];
      return code === '' ? text : `${code}${text}${RESET}`;
    });
    const line = [pad(r.label, labelW), ...cells].join('  ') + (r.note === '' ? '' : `  (${r.note})`);
    out.push(options.all && !r.differs ? line.trimEnd() : `${line.trimEnd()}`);
  }
  if (!options.all && c.differences.length < steps) out.push('', `(${steps - c.differences.length} steps alike under every kernel are hidden; --all shows them)`);
  return `${out.join('\n')}\n`;
}
