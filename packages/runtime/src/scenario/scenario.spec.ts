import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Scenario, loadScenarioFile, parseScenario } from '../index';

const FIXTURES = path.join(__dirname, '../../test/scenarios');
const fixture = (name: string): string => path.join(FIXTURES, name);

const NO_ARGS = [0n, 0n, 0n, 0n];

/** A validated set_user_memory_region step with no flags. */
function region(
  index: number,
  slot: number,
  guest_phys_addr: bigint,
  memory_size: bigint,
  backing: { kind: 'anon' | 'vfio-bar-wb'; mte_allowed: boolean },
): Scenario['steps'][number] {
  return { op: 'set_user_memory_region', index, slot, guest_phys_addr, memory_size, backing, flags: 0 };
}

/** CONTRACT §1's example with every default filled in and every address/size a bigint. */
const CONTRACT_EXAMPLE: Scenario = {
  name: 'vfio-passthrough-mte',
  kernel: 'v2',
  host: { cpus: [{ kind: 'features', count: 4, features: ['mte3', 'mte_perm', 's2fwb', 'nv'] }] },
  steps: [
    { op: 'create_vm', index: 0, ipa_bits: 40 },
    { op: 'check_extension', index: 1, cap: 'KVM_CAP_ARM_MTE_PERM' },
    { op: 'enable_cap', index: 2, cap: 'KVM_CAP_ARM_MTE', args: NO_ARGS as never, flags: 0 },
    { op: 'enable_cap', index: 3, cap: 'KVM_CAP_ARM_MTE_PERM', args: NO_ARGS as never, flags: 0 },
    region(4, 0, 0x8000_0000n, 512n << 20n, { kind: 'anon', mte_allowed: true }),
    region(5, 1, 0x1000_0000n, 16n << 20n, { kind: 'vfio-bar-wb', mte_allowed: false }),
    { op: 'create_vcpu', index: 6, id: 0, el2: false },
    { op: 'access', index: 7, vcpu: 0, gpa: 0x8000_1000n, access: 'write', level: 1, tcf: 'sync', s1: 'tagged', size: 8, pair: false, reg: 0, ata: true, tco: false },
    { op: 'access', index: 8, vcpu: 0, gpa: 0x1000_0040n, access: 'stg', level: 1, tcf: 'sync', s1: 'tagged', size: 8, pair: false, reg: 0, ata: true, tco: false },
  ],
  policy: ['exit-to-vmm'],
  policy_options: { tag_pool_pages: 64 },
  expect: [{ index: 8, match: { outcome: 'exit', exit: { flags: '0x10' } } }],
};

function expectDeepFrozen(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    expect(Object.isFrozen(v)).toBe(true);
    stack.push(...Object.values(v));
  }
}

describe('scenario files (CONTRACT §1)', () => {
  it('parses the CONTRACT §1 example YAML to typed values with defaults filled', () => {
    const scenario = loadScenarioFile(fixture('contract-example.yaml'));
    expect(scenario).toEqual(CONTRACT_EXAMPLE);
    expectDeepFrozen(scenario);
  });

  it('gives an identical Scenario for the same example written as JSON', () => {
    expect(loadScenarioFile(fixture('contract-example.json'))).toStrictEqual(
      loadScenarioFile(fixture('contract-example.yaml')),
    );
  });

  it('reads the format from the extension, or from the option', () => {
    const text = fs.readFileSync(fixture('contract-example.json'), 'utf8');
    expect(parseScenario(text, { file: 'x.yml' })).toEqual(CONTRACT_EXAMPLE); // JSON is also YAML 1.2
    expect(parseScenario(text, { file: 'builtin:example', format: 'json' })).toEqual(CONTRACT_EXAMPLE);
  });

  it.each(fs.readdirSync(FIXTURES).filter((f) => /\.(ya?ml|json)$/.test(f)))('loads fixture %s', (name) => {
    expectDeepFrozen(loadScenarioFile(fixture(name)));
  });

  it('reads raw ID registers, nested steps and memslot flag names (CONTRACT §1.1, §1.4)', () => {
    const s = loadScenarioFile(fixture('nested-notagaccess.yaml'));
    expect(s.host.cpus[0]).toEqual({
      kind: 'registers',
      count: 2,
      ID_AA64PFR1_EL1: 0x300n,
      ID_AA64PFR2_EL1: 0x1n,
      ID_AA64MMFR2_EL1: 0x0000_0100_0200_0000n,
    });
    expect(s.steps[3]).toMatchObject({ op: 'set_user_memory_region', flags: 1, backing: { kind: 'hugetlb', mte_allowed: true } });
    expect(s.steps[4]).toMatchObject({ op: 'set_user_memory_region', flags: 0, backing: { kind: 'vfio-bar-wb', mte_allowed: false } });
    expect(s.steps[5]).toEqual({ op: 'create_vcpu', index: 5, id: 0, el2: true });
    expect(s.steps[6]).toEqual({
      op: 'guest_stage2',
      index: 6,
      vcpu: 0,
      map: [
        { ipa: 0n, pa: 0x4000_0000n, size: 0x20_0000n, attr: 'normal_notagaccess', ap: 'rw' },
        { ipa: 0x20_0000n, pa: 0x1000_0000n, size: 0x20_0000n, attr: 'normal', ap: 'rw' },
      ],
    });
    expect(s.steps[9]).toMatchObject({ access: 'ldg', level: 2, tcf: 'sync', s1: 'untagged' });
  });

  it('reads migrate, mte_copy_tags (extension), a bare create_vm and policy options (CONTRACT §1.5)', () => {
    const s = loadScenarioFile(fixture('migrate-tag-alloc-retry.yaml'));
    expect(s.kernel).toBe('v2');
    expect(s.steps[0]).toEqual({ op: 'create_vm', index: 0, ipa_bits: 0 });
    expect(s.steps[9]).toEqual({ op: 'mte_copy_tags', index: 9, gpa: 0x8000_3000n, length: 4096n, to_guest: false });
    expect(s.steps[10]).toEqual({
      op: 'migrate',
      index: 10,
      to: { cpus: [{ kind: 'features', count: 8, features: ['mte3', 's2fwb'] }] },
    });
    expect(s.policy).toEqual(['tag-alloc-retry', 'exit-to-vmm']);
    expect(s.policy_options).toEqual({ tag_pool_pages: 2 });
    expect(s.expect[3]!.match).toEqual({
      accepted: false,
      failed: { step: 2, op: 'enable_cap', cap: 'KVM_CAP_ARM_MTE_PERM', ret: -22, errno: 'EINVAL' },
    });
  });

  it('fills every optional field when absent', () => {
    const s = parseScenario(
      JSON.stringify({
        name: 'minimal',
        host: { cpus: [{ features: [] }] },
        steps: [
          { create_vm: {} },
          { enable_cap: { cap: 239, args: ['0x1'] } },
          { set_user_memory_region: { slot: 0, guest_phys_addr: 0, memory_size: '4KiB', backing: { kind: 'file-shared', mte_allowed: true }, flags: 3 } },
        ],
      }),
      { file: 'minimal.json' },
    );
    expect(s.kernel).toBe('v2');
    expect(s.host.cpus).toEqual([{ kind: 'features', count: 1, features: [] }]);
    expect(s.policy).toEqual(['exit-to-vmm']);
    expect(s.policy_options).toEqual({ tag_pool_pages: 64 });
    expect(s.expect).toEqual([]);
    expect(s.steps[1]).toEqual({ op: 'enable_cap', index: 1, cap: 239, args: [1n, 0n, 0n, 0n], flags: 0 });
    expect(s.steps[2]).toMatchObject({ backing: { kind: 'file-shared', mte_allowed: true }, flags: 3, guest_phys_addr: 0n });
  });

  it('accepts the full step-count limit of 10^6 steps', () => {
    const text = `{"name":"many","host":{"cpus":[{"features":["mte2"]}]},"steps":[${'{"create_vcpu":{"id":1}},'.repeat(999_999)}{"create_vm":{}}]}`;
    const s = parseScenario(text, { file: 'many.json' });
    expect(s.steps).toHaveLength(1_000_000);
    expect(s.steps[999_999]).toEqual({ op: 'create_vm', index: 999_999, ipa_bits: 0 });
  });
});
