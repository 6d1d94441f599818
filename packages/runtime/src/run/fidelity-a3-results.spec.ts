/**
 * DOMAIN A.3.3's result field: every access step whose access took a stage-2 abort carries `esr`
 * (ESR_EL2 as taken, the first one if it was retried), last among its keys (CONTRACT §3).
 */
import type { Envelope, EventData } from '@mteperm/events';
import { parseScenario } from '../scenario/load';
import { runScenario } from './run-scenario';

const HOST = 'cpus: [{ count: 2, features: [mte3, mte_perm, s2fwb, nv] }]';

function a3Yaml(steps: string[], caps: string[] = ['KVM_CAP_ARM_MTE', 'KVM_CAP_ARM_MTE_PERM']): string {
  return [
    'name: a3',
    'host:',
    `  ${HOST}`,
    'steps:',
    '  - create_vm: { ipa_bits: 40 }',
    ...caps.map((c) => `  - enable_cap: ${c}`),
    '  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x80000000", memory_size: "64MiB", backing: anon }',
    '  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x10000000", memory_size: "16MiB", backing: vfio-bar-wb }',
    '  - create_vcpu: { id: 0 }',
    ...steps.map((s) => `  - ${s}`),
    '',
  ].join('\n');
}

function a3Run(text: string): { steps: readonly Record<string, unknown>[]; faults: EventData<'Stage2FaultTaken'>[] } {
  const events: Envelope[] = [];
  const { result } = runScenario(parseScenario(text, { file: 'a3.yaml' }), { sink: (_b, e) => events.push(e) });
  return { steps: result.steps, faults: events.flatMap((e) => (e.type === 'Stage2FaultTaken' ? [e.data] : [])) };
}

describe('A.3.3 `esr` in the access step result', () => {
  it('a 4-byte write into X7 of unmapped RAM: ok, esr = the translation fault as taken (ISV 1, SAS 0b10, SRT 7, WnR)', () => {
    const r = a3Run(a3Yaml(['access: { vcpu: 0, gpa: "0x80001000", op: write, size: 4, reg: 7 }']));
    const step = r.steps[r.steps.length - 1]!;
    expect(r.faults).toHaveLength(1);
    expect(step['esr']).toBe(`0x${r.faults[0]!.esr.toString(16)}`);
    // EC 0x24, IL, ISV, SAS 0b10, SRT 7, WnR, DFSC = translation fault at the walk's level.
    expect(BigInt(step['esr'] as string) & ~0x3fn).toBe(0x9387_0040n);
    expect(Object.keys(step)).toEqual(['index', 'op', 'vcpu', 'gpa', 'access', 'outcome', 'esr']);
  });

  it('a second access to the now mapped page took no abort: no esr', () => {
    const r = a3Run(a3Yaml(['access: { vcpu: 0, gpa: "0x80001000", op: write }', 'access: { vcpu: 0, gpa: "0x80001008", op: read }']));
    expect(r.steps[r.steps.length - 1]).toEqual({ index: r.steps.length - 1, op: 'access', vcpu: 0, gpa: '0x80001008', access: 'read', outcome: 'ok' });
  });

  it('STG to the NoTagAccess BAR: two aborts (translation, then permission); esr is the first, after the exit', () => {
    const r = a3Run(a3Yaml(['access: { vcpu: 0, gpa: "0x10000040", op: stg }']));
    const step = r.steps[r.steps.length - 1]!;
    expect(r.faults.map((f) => f.kind)).toEqual(['translation', 'permission']);
    expect(step['esr']).toBe(`0x${r.faults[0]!.esr.toString(16)}`);
    expect(Object.keys(step)).toEqual(['index', 'op', 'vcpu', 'gpa', 'access', 'outcome', 'ret', 'errno', 'exit', 'esr']);
  });
});
