import type { RawValue } from './raw';
import { type FieldReader, child, get, has, item } from './fields';
import { SCENARIO_LIMITS } from './limits';
import type { CpuFeatureName, ScenarioCpu, ScenarioHost } from './types';
import { CPU_FEATURES, ID_REGISTERS } from './vocabulary';

const ENTRY_KEYS = ['count', 'features', ...ID_REGISTERS] as const;

/** `host` (and `migrate.to`): a mapping with one key, `cpus`. */
export function readHost(r: FieldReader, v: RawValue, path: string): ScenarioHost {
  const m = r.mapping(v, path, ['cpus'], ['cpus']);
  return Object.freeze({ cpus: readCpus(r, m.cpus!, child(path, 'cpus')) });
}

function readCpus(r: FieldReader, v: RawValue, path: string): readonly ScenarioCpu[] {
  const list = r.list(v, path);
  if (list.length === 0) r.fail(path, 'needs at least one CPU entry');
  let total = 0;
  const cpus = list.map((entry, i) => {
    const cpu = readCpu(r, entry, item(path, i));
    total += cpu.count;
    return cpu;
  });
  if (total > SCENARIO_LIMITS.maxCpus) r.fail(path, `${total} CPUs in total; at most ${SCENARIO_LIMITS.maxCpus}`);
  return Object.freeze(cpus);
}

// Mixing shorthand and raw registers in one entry is refused: which one wins for the MTE field of
// ID_AA64PFR1_EL1 would be a guess.
function readCpu(r: FieldReader, v: RawValue, path: string): ScenarioCpu {
  const m = r.mapping(v, path, ENTRY_KEYS);
  const count = has(m, 'count') ? r.int(m.count!, child(path, 'count'), 1, SCENARIO_LIMITS.maxCpus) : 1;
  const raw = ID_REGISTERS.filter((reg) => has(m, reg));
  if (has(m, 'features')) {
    if (raw.length > 0) r.fail(path, `use either features or raw ID registers, not both (found features and ${raw[0]})`);
    const fpath = child(path, 'features');
    const features: CpuFeatureName[] = [];
    r.list(m.features!, fpath).forEach((f, i) => {
      const name = r.oneOf(f, item(fpath, i), CPU_FEATURES, 'feature');
      if (!features.includes(name)) features.push(name);
    });
    return Object.freeze({ kind: 'features', count, features: Object.freeze(features) });
  }
  if (raw.length === 0) {
    r.fail(path, `a CPU entry needs features (${CPU_FEATURES.join(', ')}) or raw ID registers (${ID_REGISTERS.join(', ')})`);
  }
  const reg = (name: (typeof ID_REGISTERS)[number]): bigint => {
    const value = get(m, name);
    return value === undefined ? 0n : r.u64(value, child(path, name), { sizes: false });
  };
  return Object.freeze({
    kind: 'registers',
    count,
    ID_AA64PFR1_EL1: reg('ID_AA64PFR1_EL1'),
    ID_AA64PFR2_EL1: reg('ID_AA64PFR2_EL1'),
    ID_AA64MMFR2_EL1: reg('ID_AA64MMFR2_EL1'),
  });
}
