import { type RawValue, isMapping } from './raw';
import { FieldReader, child, get, has, item } from './fields';
import { describeValue } from './describe';
import { readHost } from './cpus';
import { readStep } from './steps';
import { SCENARIO_LIMITS } from './limits';
import type { JsonValue, PolicyOptions, Scenario, ScenarioExpectation, ScenarioStep } from './types';
import { DEFAULT_KERNEL, DEFAULT_POLICY, DEFAULT_TAG_POOL_PAGES, KERNEL_PROFILES } from './vocabulary';

const TOP_KEYS = ['name', 'kernel', 'host', 'steps', 'policy', 'policy_options', 'expect'];
const NAME = /^[a-z0-9._-]+$/;
// The name becomes `<name>.mtelog`; 200 keeps that under the usual 255-byte file-name limit.
const MAX_NAME = 200;

/** Validates a parsed tree (either format) into a deeply frozen Scenario. Errors name `file`. */
export function validateScenario(raw: RawValue, file: string): Scenario {
  const r = new FieldReader(file);
  if (!isMapping(raw)) r.fail('', `expected a mapping with name, host and steps at the top level; got ${describeValue(raw)}`);
  const m = r.mapping(raw, '', TOP_KEYS, ['name', 'host', 'steps']);

  const name = r.string(m.name!, 'name');
  if (!NAME.test(name)) r.fail('name', `${describeValue(name)} is not a valid name (use a-z, 0-9, '.', '_' and '-')`);
  if (name.length > MAX_NAME) r.fail('name', `longer than ${MAX_NAME} characters`);

  const kernelValue = get(m, 'kernel');
  const kernel = kernelValue === undefined ? DEFAULT_KERNEL : r.oneOf(kernelValue, 'kernel', KERNEL_PROFILES, 'kernel profile');

  const host = readHost(r, m.host!, 'host');

  const stepList = r.list(m.steps!, 'steps');
  // Checked before any step is read, so an oversized list costs nothing more than its parse.
  if (stepList.length > SCENARIO_LIMITS.maxSteps) {
    r.limit('steps', `${stepList.length} steps; at most ${SCENARIO_LIMITS.maxSteps} are allowed`);
  }
  const steps: ScenarioStep[] = new Array<ScenarioStep>(stepList.length);
  for (let i = 0; i < stepList.length; i++) steps[i] = readStep(r, stepList[i]!, item('steps', i), i);

  return Object.freeze({
    name,
    kernel,
    host,
    steps: Object.freeze(steps),
    policy: readPolicy(r, get(m, 'policy')),
    policy_options: readPolicyOptions(r, get(m, 'policy_options')),
    expect: readExpect(r, get(m, 'expect'), steps.length),
  });
}

function readPolicy(r: FieldReader, v: RawValue | undefined): readonly string[] {
  if (v === undefined) return Object.freeze([DEFAULT_POLICY]);
  const list = r.list(v, 'policy');
  if (list.length === 0) r.fail('policy', `empty list; name at least one policy (or leave policy out for ${DEFAULT_POLICY})`);
  if (list.length > SCENARIO_LIMITS.maxPolicies) r.fail('policy', `${list.length} policies; at most ${SCENARIO_LIMITS.maxPolicies}`);
  return Object.freeze(
    list.map((p, i) => {
      const s = r.string(p, item('policy', i));
      if (s.length === 0) r.fail(item('policy', i), 'empty policy name');
      return s;
    }),
  );
}

function readPolicyOptions(r: FieldReader, v: RawValue | undefined): PolicyOptions {
  if (v === undefined) return Object.freeze({ tag_pool_pages: DEFAULT_TAG_POOL_PAGES });
  const m = r.mapping(v, 'policy_options', ['tag_pool_pages', 'sandbox']);
  return Object.freeze({
    tag_pool_pages: has(m, 'tag_pool_pages')
      ? r.int(m.tag_pool_pages!, 'policy_options.tag_pool_pages', 0, 0xffff_ffff)
      : DEFAULT_TAG_POOL_PAGES,
    ...(has(m, 'sandbox') ? { sandbox: r.bool(m.sandbox!, 'policy_options.sandbox') } : {}),
  });
}

function readExpect(r: FieldReader, v: RawValue | undefined, stepCount: number): readonly ScenarioExpectation[] {
  if (v === undefined) return Object.freeze([]);
  const list = r.list(v, 'expect');
  return Object.freeze(
    list.map((e, i) => {
      const path = item('expect', i);
      if (!isMapping(e)) r.fail(path, `expected a mapping { index, ...fields }, got ${describeValue(e)}`);
      if (!has(e, 'index')) r.fail(child(path, 'index'), 'required field is missing');
      const index = r.int(e.index!, child(path, 'index'), 0, Number.MAX_SAFE_INTEGER);
      if (index >= stepCount) {
        r.fail(child(path, 'index'), `${index} is out of range (the scenario has ${stepCount} steps)`);
      }
      // The rest is matched against result entries, whose fields are open-ended: kept as data.
      const match = Object.fromEntries(
        Object.keys(e)
          .filter((k) => k !== 'index')
          .map((k) => [k, toJson(r, e[k]!, child(path, k))]),
      );
      return Object.freeze({ index, match: Object.freeze(match) });
    }),
  );
}

/** Plain JSON data for `expect`: integers become numbers (they must be safe), everything frozen. */
function toJson(r: FieldReader, v: RawValue, path: string): JsonValue {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      r.fail(path, `${v} is beyond 2^53-1 as a bare number; quote it ("0x.." or a decimal string)`);
    }
    return Number(v);
  }
  if (typeof v === 'number' && !Number.isFinite(v)) r.fail(path, `${v} is not a finite number`);
  if (v === null || typeof v !== 'object') return v;
  // Depth is already bounded by SCENARIO_LIMITS.maxDepth, so recursion is safe here.
  if (Array.isArray(v)) return Object.freeze(v.map((x, i) => toJson(r, x, item(path, i))));
  return Object.freeze(Object.fromEntries(Object.keys(v).map((k) => [k, toJson(r, v[k]!, child(path, k))])));
}
