import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScenarioError, loadScenarioFile, parseScenario } from '../index';
import { thrownError } from '@mteperm/events/testing';

const HOST = { cpus: [{ count: 4, features: ['mte3', 'mte_perm'] }] };
const REGION = { slot: 0, guest_phys_addr: '0x80000000', memory_size: '2MiB', backing: 'anon' };

/** A valid scenario as JSON text with `patch` applied on top (undefined deletes a key). */
function json(patch: Record<string, unknown>, steps: unknown[] = [{ create_vm: { ipa_bits: 40 } }]): string {
  const base: Record<string, unknown> = { name: 'bad', host: HOST, steps, ...patch };
  for (const k of Object.keys(base)) if (base[k] === undefined) delete base[k];
  return JSON.stringify(base);
}
const step = (s: unknown): string => json({}, [{ create_vm: {} }, s]);

const errorOf = (run: () => unknown): ScenarioError => thrownError(run, ScenarioError);

type Row = [what: string, file: string, text: string, code: string, message: string];

// One row per error class: the exact one-line message a user sees (CLI exit 2, CONTRACT §2).
const ROWS: Row[] = [
  ['unknown step', 'x.json', step({ acess: { vcpu: 0, gpa: 0, op: 'read' } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1]: unknown step "acess" (did you mean access?); expected one of: create_vm, check_extension, enable_cap, set_user_memory_region, create_vcpu, access, guest_stage2, migrate, mte_copy_tags, get_one_reg'],
  ['two ops in one step', 'x.json', step({ create_vcpu: { id: 0 }, access: {} }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1]: a step has exactly one key (the op); found create_vcpu, access'],
  ['unknown key', 'x.json', step({ access: { vcpu: 0, gpa: 0, op: 'read', tfc: 'async' } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].access.tfc: unknown key "tfc" (did you mean tcf?); expected one of: vcpu, gpa, op, level, tcf, s1, size, pair, reg, ata, tco'],
  ['unknown top-level key', 'x.json', json({ polices: ['x'] }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: polices: unknown key "polices" (did you mean policy?); expected one of: name, kernel, host, steps, policy, policy_options, expect'],
  ['bad number', 'vfio.yaml', step({ set_user_memory_region: { ...REGION, memory_size: '12abc' } }), 'MTEPERM_SCENARIO_FIELD',
    'vfio.yaml: steps[1].set_user_memory_region.memory_size: "12abc" is not a number (use 0x.., decimal, or a size like 2MiB)'],
  ['negative size', 'x.json', step({ set_user_memory_region: { ...REGION, memory_size: -4096 } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].set_user_memory_region.memory_size: -4096 is negative (expected 0..2^64-1)'],
  ['float address', 'x.json', step({ access: { vcpu: 0, gpa: 4096.5, op: 'read' } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].access.gpa: 4096.5 is not an integer'],
  ['unsafe bare integer', 'x.yaml', 'name: x\nhost: { cpus: [ { features: [] } ] }\nsteps:\n  - access: { vcpu: 0, gpa: 18446744073709551615, op: read }\n', 'MTEPERM_SCENARIO_FIELD',
    'x.yaml: steps[0].access.gpa: 18446744073709551615 is beyond 2^53-1 as a bare number; quote it ("0x.." or a decimal string)'],
  ['bad backing', 'x.json', step({ set_user_memory_region: { ...REGION, backing: 'vfio' } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].set_user_memory_region.backing: unknown backing "vfio" (did you mean vfio-bar?); expected one of: anon, shmem, hugetlb, file-shared, dax-pmem, vfio-bar-wb, vfio-bar'],
  ['bad backing override', 'x.json', step({ set_user_memory_region: { ...REGION, backing: { kind: 'anon', mte_allowed: 'yes' } } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].set_user_memory_region.backing.mte_allowed: expected true or false, got "yes"'],
  ['bad op', 'x.json', step({ access: { vcpu: 0, gpa: '0x1000', op: 'stz2g' } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].access.op: unknown access op "stz2g" (did you mean st2g?); expected one of: read, write, exec, ldg, stg, st2g, stgm, ldgm, dc_gva, dc_gzva, checked_read, checked_write'],
  ['bad level', 'x.json', step({ access: { vcpu: 0, gpa: '0x1000', op: 'ldg', level: 3 } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].access.level: 3 is out of range (expected 1..2)'],
  ['bad memslot flag', 'x.json', step({ set_user_memory_region: { ...REGION, flags: ['KVM_MEM_READ_ONLY'] } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].set_user_memory_region.flags[0]: unknown memslot flag "KVM_MEM_READ_ONLY" (did you mean KVM_MEM_READONLY?); expected one of: KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY'],
  ['missing required field', 'x.json', step({ set_user_memory_region: { slot: 0, guest_phys_addr: 0, backing: 'anon' } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].set_user_memory_region.memory_size: required field is missing'],
  ['missing steps', 'x.json', json({ steps: undefined }), 'MTEPERM_SCENARIO_FIELD', 'x.json: steps: required field is missing'],
  ['wrong type', 'x.json', json({}, [{ create_vm: { ipa_bits: '40' } }]), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[0].create_vm.ipa_bits: expected an integer 0..64, got "40"'],
  ['step not a mapping', 'x.json', step('create_vcpu'), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1]: expected a mapping with one key naming the step (e.g. { create_vm: { ipa_bits: 40 } }), got "create_vcpu"'],
  ['bad capability', 'x.json', step({ enable_cap: 'ARM_MTE' }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: steps[1].enable_cap: "ARM_MTE" is not a capability name (KVM_CAP_...) or number'],
  // Issue 21 item 9: a well-formed name the model does not know names the file and field.
  ['unknown capability', 'x.json', step({ enable_cap: 'KVM_CAP_NOPE' }), 'MTEPERM_SCENARIO_FIELD',
    "x.json: steps[1].enable_cap: unknown capability 'KVM_CAP_NOPE' (the model knows KVM_CAP_ARM_MTE, KVM_CAP_ARM_MTE_PERM, KVM_CAP_ARM_NISV_TO_USER)"],
  ['unknown capability in a mapping', 'x.json', step({ enable_cap: { cap: 'KVM_CAP_NOPE' } }), 'MTEPERM_SCENARIO_FIELD',
    "x.json: steps[1].enable_cap.cap: unknown capability 'KVM_CAP_NOPE' (the model knows KVM_CAP_ARM_MTE, KVM_CAP_ARM_MTE_PERM, KVM_CAP_ARM_NISV_TO_USER)"],
  ['unknown capability in check_extension', 'x.json', step({ check_extension: 'KVM_CAP_NOPE' }), 'MTEPERM_SCENARIO_FIELD',
    "x.json: steps[1].check_extension: unknown capability 'KVM_CAP_NOPE' (the model knows KVM_CAP_ARM_MTE, KVM_CAP_ARM_MTE_PERM, KVM_CAP_ARM_NISV_TO_USER)"],
  ['bad kernel', 'x.json', json({ kernel: 'v3' }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: kernel: unknown kernel profile "v3" (did you mean v1?); expected one of: baseline, v1, v2, drop-check'],
  ['bad name', 'x.json', json({ name: 'VFIO Passthrough' }), 'MTEPERM_SCENARIO_FIELD',
    `x.json: name: "VFIO Passthrough" is not a valid name (use a-z, 0-9, '.', '_' and '-')`],
  ['bad cpu feature', 'x.json', json({ host: { cpus: [{ features: ['mte4'] }] } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: host.cpus[0].features[0]: unknown feature "mte4" (did you mean mte?); expected one of: mte, mte2, mte3, mte_perm, s2fwb, nv'],
  ['features mixed with raw registers', 'x.json', json({ host: { cpus: [{ features: ['mte2'], ID_AA64PFR2_EL1: '0x1' }] } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: host.cpus[0]: use either features or raw ID registers, not both (found features and ID_AA64PFR2_EL1)'],
  ['cpu entry with neither', 'x.json', json({ host: { cpus: [{ count: 2 }] } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: host.cpus[0]: a CPU entry needs features (mte, mte2, mte3, mte_perm, s2fwb, nv) or raw ID registers (ID_AA64PFR1_EL1, ID_AA64PFR2_EL1, ID_AA64MMFR2_EL1)'],
  ['register with a size suffix', 'x.json', json({ host: { cpus: [{ ID_AA64PFR1_EL1: '1KiB' }] } }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: host.cpus[0].ID_AA64PFR1_EL1: "1KiB" is not a number (use 0x.. or decimal)'],
  ['empty cpu list', 'x.json', json({ host: { cpus: [] } }), 'MTEPERM_SCENARIO_FIELD', 'x.json: host.cpus: needs at least one CPU entry'],
  ['expect index out of range', 'x.json', json({ expect: [{ index: 1, outcome: 'ok' }] }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: expect[0].index: 1 is out of range (the scenario has 1 steps)'],
  ['top level not a mapping', 'x.yaml', '- create_vm: {}\n', 'MTEPERM_SCENARIO_FIELD',
    'x.yaml: (document): expected a mapping with name, host and steps at the top level; got a list'],
  ['YAML syntax error', 'x.yaml', 'name: x\nhost:\n  cpus: [ { features: [mte] }\nsteps: []\n', 'MTEPERM_SCENARIO_SYNTAX',
    'x.yaml:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ['YAML duplicate key', 'x.yaml', 'name: x\nname: y\n', 'MTEPERM_SCENARIO_SYNTAX', 'x.yaml:2:1: Map keys must be unique'],
  ['YAML custom tag', 'x.yaml', 'name: !custom x\n', 'MTEPERM_SCENARIO_SYNTAX', 'x.yaml:1:7: Unresolved tag: !custom'],
  ['YAML 1.1 tag', 'x.yaml', 'name: !!binary aGk=\n', 'MTEPERM_SCENARIO_SYNTAX',
    'x.yaml:1:16: tag tag:yaml.org,2002:binary is not allowed (only plain YAML 1.2 core values)'],
  ['two YAML documents', 'x.yaml', 'name: x\n---\nname: y\n', 'MTEPERM_SCENARIO_SYNTAX',
    'x.yaml:2:1: more than one YAML document (a scenario is exactly one)'],
  ['JSON syntax error', 'x.json', '{\n  "name": "x",\n  "host": }', 'MTEPERM_SCENARIO_SYNTAX', 'x.json:3:11: unexpected "}": expected a value'],
  ['JSON duplicate key', 'x.json', '{"name": "x", "name": "y"}', 'MTEPERM_SCENARIO_SYNTAX', 'x.json:1:15: duplicate key "name"'],
  ['YAML nesting of depth 100000', 'deep.yaml', `name: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, 'MTEPERM_SCENARIO_LIMIT',
    'deep.yaml:1:70: nesting deeper than 64 levels'],
  ['YAML block nesting of depth 100000', 'deep.yaml', `${'- '.repeat(100_000)}x\n`, 'MTEPERM_SCENARIO_LIMIT',
    'deep.yaml:1:129: nesting deeper than 64 levels'],
  ['JSON nesting of depth 100000', 'deep.json', `{"name": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 'MTEPERM_SCENARIO_LIMIT',
    'deep.json:1:73: nesting deeper than 64 levels'],
  ['alias bomb', 'bomb.yaml',
    ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${`*${'abcdefgh'[i]},`.repeat(9)}]`)].join('\n'),
    'MTEPERM_SCENARIO_LIMIT', 'bomb.yaml: YAML aliases expand too much (limit 100)'],
  ['aliases that nest too deep', 'deep.yaml', `a: &a ${'['.repeat(60)}${']'.repeat(60)}\nb: [[[[[[*a]]]]]]\n`, 'MTEPERM_SCENARIO_LIMIT',
    'deep.yaml: nesting deeper than 64 levels (after aliases)'],
  ['line breaks in a key stay on one line', 'x.json', json({ 'bad\nkey\u2028': 1 }), 'MTEPERM_SCENARIO_FIELD',
    'x.json: ["bad\\nkey\\u2028"]: unknown key "bad\\nkey\\u2028"; expected one of: name, kernel, host, steps, policy, policy_options, expect'],
];

describe('scenario diagnostics: code and exact one-line message', () => {
  it.each(ROWS)('%s', (_what, file, text, code, message) => {
    const e = errorOf(() => parseScenario(text, { file }));
    expect({ code: e.code, message: e.message }).toEqual({ code, message });
    expect(e.message).not.toMatch(/[\n\r\u2028\u2029]/);
    expect(e.name).toBe('ScenarioError');
    expect(e.file).toBe(file);
  });

  it('gives line and column fields for syntax errors and the field path for field errors', () => {
    const syntax = errorOf(() => parseScenario('name: x\nname: y\n', { file: 'x.yaml' }));
    expect([syntax.line, syntax.column, syntax.field]).toEqual([2, 1, undefined]);
    const field = errorOf(() => parseScenario(json({ kernel: 'v3' }), { file: 'x.json' }));
    expect([field.line, field.column, field.field]).toEqual([undefined, undefined, 'kernel']);
  });

  it('refuses more than 10^6 steps before reading any of them', () => {
    const text = `{"name":"x","host":{"cpus":[{"features":[]}]},"steps":[${'0,'.repeat(1_000_000)}0]}`;
    const e = errorOf(() => parseScenario(text, { file: 'many.json' }));
    expect({ code: e.code, message: e.message, field: e.field }).toEqual({
      code: 'MTEPERM_SCENARIO_LIMIT',
      message: 'many.json: steps: 1000001 steps; at most 1000000 are allowed',
      field: 'steps',
    });
  });

  it('refuses text larger than 64 MiB', () => {
    const e = errorOf(() => parseScenario(' '.repeat(64 * 1024 * 1024 + 1), { file: 'huge.json' }));
    expect({ code: e.code, message: e.message }).toEqual({
      code: 'MTEPERM_SCENARIO_LIMIT',
      message: 'huge.json: larger than 67108864 bytes',
    });
  });

  it('refuses an over-long scalar', () => {
    const e = errorOf(() => parseScenario(json({ name: 'a'.repeat(70_000) }), { file: 'x.json' }));
    expect({ code: e.code, message: e.message }).toEqual({
      code: 'MTEPERM_SCENARIO_LIMIT',
      message: 'x.json:1:9: string longer than 65536 characters',
    });
  });
});

describe('reading scenario files', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mteperm-scenario-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['unsupported extension', 'scenario.toml', 'MTEPERM_SCENARIO_READ',
      'scenario.toml: unsupported file type ".toml": a scenario is .json, .yaml or .yml'],
    ['no extension', 'scenario', 'MTEPERM_SCENARIO_READ', 'scenario: unsupported file type "(none)": a scenario is .json, .yaml or .yml'],
  ])('%s', (_what, file, code, message) => {
    const e = errorOf(() => loadScenarioFile(file));
    expect({ code: e.code, message: e.message }).toEqual({ code, message });
  });

  it('missing file', () => {
    const file = path.join(dir, 'missing.yaml');
    const e = errorOf(() => loadScenarioFile(file));
    expect({ code: e.code, message: e.message }).toEqual({
      code: 'MTEPERM_SCENARIO_READ',
      message: `${file}: cannot read: no such file (ENOENT)`,
    });
  });

  it('a directory', () => {
    const file = path.join(dir, 'dir.yaml');
    fs.mkdirSync(file);
    expect(errorOf(() => loadScenarioFile(file)).message).toBe(`${file}: is a directory`);
  });

  it('not UTF-8', () => {
    const file = path.join(dir, 'latin1.yaml');
    fs.writeFileSync(file, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0x0a]));
    const e = errorOf(() => loadScenarioFile(file));
    expect({ code: e.code, message: e.message }).toEqual({ code: 'MTEPERM_SCENARIO_READ', message: `${file}: not valid UTF-8 text` });
  });

  it('a UTF-8 byte-order mark is accepted', () => {
    const file = path.join(dir, 'bom.json');
    fs.writeFileSync(file, `\ufeff${json({})}`);
    expect(loadScenarioFile(file).name).toBe('bad');
  });
});

describe('YAML aliases', () => {
  it('resolves ordinary anchors and aliases', () => {
    const text = [
      'name: aliased',
      'host: { cpus: [ &cpu { count: 2, features: [mte3, mte_perm] }, *cpu ] }',
      'steps:',
      '  - create_vm: {}',
      '  - set_user_memory_region: { slot: 0, guest_phys_addr: &base "0x80000000", memory_size: 2MiB, backing: anon }',
      '  - access: { vcpu: 0, gpa: *base, op: stg }',
    ].join('\n');
    const s = parseScenario(text, { file: 'a.yaml' });
    expect(s.host.cpus).toHaveLength(2);
    expect(s.steps[2]).toMatchObject({ gpa: 0x8000_0000n });
  });

  it('names an unresolved alias with its position', () => {
    const e = errorOf(() => parseScenario('name: x\nhost: *nope\n', { file: 'a.yaml' }));
    expect({ code: e.code, message: e.message }).toEqual({ code: 'MTEPERM_SCENARIO_SYNTAX', message: 'a.yaml:2:7: unresolved alias *nope' });
  });

  it('checks 10^5 aliases in linear time', () => {
    const text = `a: &a 1\nb: [${'*a, '.repeat(100_000)}]\n`;
    const t0 = Date.now();
    const e = errorOf(() => parseScenario(text, { file: 'many.yaml' }));
    expect(e.code).toBe('MTEPERM_SCENARIO_LIMIT');
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
