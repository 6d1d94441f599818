import { parseScenario } from './load';
import { ScenarioError } from './errors';
import { thrownError } from '@mteperm/events/testing';

// The scenario inputs of DOMAIN A.3.3 (size, pair, reg), A.3.7 (ata, tco) and A.3.10 (get_one_reg):
// a bad value is one line naming file and field (CONTRACT §2, exit 2).
const scenario = (step: string): string =>
  `name: a3\nhost:\n  cpus: [{ features: [mte3] }]\nsteps:\n  - create_vm: {}\n  - create_vcpu: { id: 0 }\n  - ${step}\n`;

const messageOf = (step: string): string => thrownError(() => parseScenario(scenario(step), { file: 'a3.yaml' }), ScenarioError).message;

describe('access.size / pair / reg / ata / tco and get_one_reg are validated (DOMAIN A.3.3, A.3.7, A.3.10)', () => {
  it.each<[string, string]>([
    ['access: { vcpu: 0, gpa: 0, op: read, size: 3 }', 'a3.yaml: steps[2].access.size: expected 1, 2, 4 or 8 (bytes), got 3'],
    ['access: { vcpu: 0, gpa: 0, op: read, size: 16 }', 'a3.yaml: steps[2].access.size: 16 is out of range (expected 1..8)'],
    ['access: { vcpu: 0, gpa: 0, op: read, size: "8" }', 'a3.yaml: steps[2].access.size: expected an integer 1..8, got "8"'],
    ['access: { vcpu: 0, gpa: 0, op: write, size: 2, pair: true }', 'a3.yaml: steps[2].access.pair: a pair (LDP/STP) needs size 4 or 8, got size 2'],
    ['access: { vcpu: 0, gpa: 0, op: write, pair: true }', ''],
    ['access: { vcpu: 0, gpa: 0, op: write, pair: 1 }', 'a3.yaml: steps[2].access.pair: expected true or false, got 1'],
    ['access: { vcpu: 0, gpa: 0, op: read, reg: 31 }', 'a3.yaml: steps[2].access.reg: 31 is out of range (expected 0..30)'],
    ['access: { vcpu: 0, gpa: 0, op: read, ata: "no" }', 'a3.yaml: steps[2].access.ata: expected true or false, got "no"'],
    ['access: { vcpu: 0, gpa: 0, op: read, tco: null }', 'a3.yaml: steps[2].access.tco: expected true or false, got null'],
    ['get_one_reg: { vcpu: 0, reg: ID_AA64PFR0_EL1 }', 'a3.yaml: steps[2].get_one_reg.reg: unknown register "ID_AA64PFR0_EL1" (did you mean ID_AA64PFR1_EL1?); expected one of: ID_AA64PFR1_EL1, ID_AA64PFR2_EL1, ID_AA64MMFR2_EL1'],
    ['get_one_reg: { reg: ID_AA64PFR1_EL1 }', 'a3.yaml: steps[2].get_one_reg.vcpu: required field is missing'],
    ['get_one_reg: { vcpu: 0, reg: ID_AA64PFR1_EL1, value: 1 }', 'a3.yaml: steps[2].get_one_reg.value: unknown key "value"; expected one of: vcpu, reg'],
  ])('%s', (step, message) => {
    if (message === '') {
      expect(parseScenario(scenario(step), { file: 'a3.yaml' }).steps[2]).toMatchObject({ size: 8, pair: true });
      return;
    }
    const m = messageOf(step);
    expect(m).toBe(message);
    expect(m).not.toMatch(/\n/);
  });

  it('fills the defaults: size 8, no pair, X0, ATA 1, TCO 0', () => {
    expect(parseScenario(scenario('access: { vcpu: 0, gpa: 0, op: read }'), { file: 'a3.yaml' }).steps[2]).toMatchObject({ size: 8, pair: false, reg: 0, ata: true, tco: false });
    expect(parseScenario(scenario('access: { vcpu: 0, gpa: 0, op: write, size: 4, pair: true, reg: 30, ata: false, tco: true }'), { file: 'a3.yaml' }).steps[2]).toMatchObject({
      size: 4,
      pair: true,
      reg: 30,
      ata: false,
      tco: true,
    });
  });
});
