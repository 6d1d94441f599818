import type { ContractResult, LeafResult, StepResult } from '@mteperm/runtime';

/** A memslot as the report groups leaves by it. */
export interface RegionInfo {
  readonly slot: number;
  readonly base: bigint;
  readonly size: bigint;
  readonly backing: string;
}

const SIZE_UNITS: Array<[bigint, string]> = [
  [1n << 40n, 'TiB'],
  [1n << 30n, 'GiB'],
  [1n << 20n, 'MiB'],
  [1n << 10n, 'KiB'],
];

export function humanSize(n: bigint): string {
  for (const [unit, name] of SIZE_UNITS) if (n >= unit && n % unit === 0n) return `${n / unit} ${name}`;
  return `${n} B`;
}

const MAX_STEPS_SHOWN = 60;
const HEAD_STEPS = 40;
const TAIL_STEPS = 10;

function describeStep(s: StepResult): [string, string] {
  const r = s as Record<string, unknown>;
  const ret = (): string => (r['errno'] !== undefined ? `${r['ret']} (${r['errno']})` : String(r['ret']));
  switch (s.op) {
    case 'check_extension':
    case 'enable_cap':
      return [`${s.op} ${r['cap']}`, ret()];
    case 'set_user_memory_region':
      return [`${s.op} slot ${r['slot']}`, ret()];
    case 'create_vcpu':
      return [`create_vcpu ${r['vcpu']}`, ret()];
    case 'access': {
      const what = `access vcpu${r['vcpu']} ${r['access']} ${r['gpa']}`;
      const outcome = String(r['outcome']);
      if (outcome === 'exit') {
        const x = r['exit'] as Record<string, unknown>;
        const fields = Object.entries(x)
          .filter(([k]) => k !== 'reason')
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        return [what, `exit ${x['reason']} ${fields}; KVM_RUN ${ret()}`];
      }
      if (outcome === 'error') return [what, `error: KVM_RUN ${ret()}${r['reason'] ? ` (${r['reason']})` : ''}`];
      if (outcome === 'injected') {
        const a = r['abort'] as Record<string, unknown> | undefined;
        return [what, `injected ${a?.['kind'] ?? 'abort'}${r['target'] ? ` into ${r['target']}` : ''} esr=${a?.['esr'] ?? '?'}`];
      }
      return [what, outcome];
    }
    case 'get_one_reg':
      // KVM_GET_ONE_REG (DOMAIN A.3.10): the register's value, or the errno.
      return [`get_one_reg vcpu${r['vcpu']} ${r['reg']}`, r['value'] === undefined ? ret() : String(r['value'])];
    case 'migrate': {
      const f = r['failed'] as Record<string, unknown> | null;
      return ['migrate', r['accepted'] ? 'accepted' : `refused at step ${f?.['step']} (${f?.['op']} ${f?.['cap'] ?? `slot ${f?.['slot']}`}): ${f?.['ret']} (${f?.['errno']})`];
    }
    default:
      return [s.op, r['ret'] === undefined ? '' : ret()];
  }
}

function attrOf(l: LeafResult): string {
  if (l.memattr === '0b0001') return 'Device-nGnRE';
  if (l.notagaccess) return 'Normal WB + NoTagAccess';
  if (l.memattr === '0b0101') return 'Normal-NC';
  return l.tagged ? 'Normal WB, tagged' : 'Normal WB';
}

/** Leaves grouped by memslot and attribute: the table a person reads instead of 2^n lines. */
export function leafTable(leaves: readonly LeafResult[], regions: readonly RegionInfo[]): string[] {
  const groups = new Map<string, { region: string; attr: string; memattr: string; count: number; bytes: bigint; first: bigint }>();
  for (const l of leaves) {
    const ipa = BigInt(l.ipa);
    const r = regions.find((m) => ipa >= m.base && ipa < m.base + m.size);
    const region = regions.length === 0 ? 'L2 guest IPA' : r === undefined ? 'no memslot' : `slot ${r.slot} ${r.backing}`;
    const key = `${region}|${attrOf(l)}|${l.memattr}`;
    const g = groups.get(key) ?? { region, attr: attrOf(l), memattr: l.memattr, count: 0, bytes: 0n, first: ipa };
    g.count++;
    g.bytes += BigInt(l.size);
    groups.set(key, g);
  }
  const rows = [...groups.values()].sort((a, b) => (a.first < b.first ? -1 : 1));
  const lines = [pad(['region', 'first ipa', 'leaves', 'mapped', 'attribute (MemAttr)'], [22, 14, 7, 10])];
  for (const g of rows) lines.push(pad([g.region, `0x${g.first.toString(16)}`, String(g.count), humanSize(g.bytes), `${g.attr} (${g.memattr})`], [22, 14, 7, 10]));
  return lines;
}

function pad(cols: string[], widths: number[]): string {
  return cols.map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c)).join(' ').trimEnd();
}

/** The short readable report of a run (CONTRACT §2 leaves its form to us). */
export function formatRunReport(result: ContractResult, regions: readonly RegionInfo[], cpus: number): string {
  const h = result.host;
  const feats = [h.mte, h.mte_perm ? 'MTE_PERM' : 'no MTE_PERM', h.s2fwb ? 'S2FWB' : 'no S2FWB', h.nv ? 'NV' : 'no NV'].join(', ');
  const out: string[] = [];
  out.push(`${result.scenario}: kernel ${result.kernel}, host of ${cpus} CPU${cpus === 1 ? '' : 's'} (${feats})`);
  out.push('');
  // A short report: long runs show their first and last steps and a count of outcomes.
  const shown = result.steps.length <= MAX_STEPS_SHOWN ? result.steps : [...result.steps.slice(0, HEAD_STEPS), ...result.steps.slice(-TAIL_STEPS)];
  const rows = shown.map((s) => [String(s.index), ...describeStep(s)] as const);
  const w = Math.max(4, ...rows.map((r) => r[1].length));
  rows.forEach(([i, what, res], n) => {
    if (shown.length < result.steps.length && n === HEAD_STEPS) out.push(`  ...  ${result.steps.length - HEAD_STEPS - TAIL_STEPS} more steps (--json shows every step)`);
    out.push(`  ${i.padStart(3)}  ${what.padEnd(w)}  ${res}`);
  });
  if (shown.length < result.steps.length) {
    const counts = new Map<string, number>();
    for (const st of result.steps) {
      const o = (st as Record<string, unknown>)['outcome'];
      if (typeof o === 'string') counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    out.push(`  accesses: ${[...counts.entries()].map(([k, v]) => `${v} ${k}`).join(', ')}`);
  }
  out.push('');
  out.push(`stage 2: ${leavesCount(result.stage2.length)}`);
  if (result.stage2.length > 0) for (const l of leafTable(result.stage2, regions)) out.push(`  ${l}`);
  if (result.shadow_stage2.length > 0) {
    out.push(`shadow stage 2: ${leavesCount(result.shadow_stage2.length)}`);
    for (const l of leafTable(result.shadow_stage2, [])) out.push(`  ${l}`);
  }
  if (result.migration !== null) out.push(`migration: ${result.migration.accepted ? 'accepted' : 'refused'}`);
  if (result.plugin_failures.length > 0) out.push(...skippedPolicies(result.plugin_failures));
  out.push(`log: ${result.log.path} (${result.log.events} events, sha256 ${result.log.sha256})`);
  return `${out.join('\n')}\n`;
}

function leavesCount(n: number): string {
  return `${n} ${n === 1 ? 'leaf' : 'leaves'}`;
}

/** The policy calls that were skipped, one line per plugin and reason (CONTRACT §3 `plugin_failures`). */
function skippedPolicies(failures: ContractResult['plugin_failures']): string[] {
  const groups = new Map<string, { plugin: string; reason: string; steps: string[] }>();
  for (const f of failures) {
    const key = JSON.stringify([f.plugin, f.reason]);
    const g = groups.get(key) ?? { plugin: f.plugin, reason: f.reason, steps: [] };
    g.steps.push(f.step === null ? 'load' : String(f.step));
    groups.set(key, g);
  }
  const n = failures.length;
  const lines = [`skipped policy calls: ${n} (recorded as PluginFailed)`];
  for (const g of groups.values()) lines.push(`  ${g.plugin}: ${g.reason} at ${g.steps[0] === 'load' && g.steps.length === 1 ? 'load' : `step${g.steps.length === 1 ? '' : 's'} ${g.steps.join(', ')}`}`);
  return lines;
}
