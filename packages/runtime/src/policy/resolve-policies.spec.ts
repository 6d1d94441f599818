import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BUILTIN_POLICY_NAMES } from './builtins';
import { PolicyLoadError } from './errors';
import { resolvePolicies } from './resolve-policies';
import { thrownError } from '@mteperm/events/testing';

const FIXTURES = resolve(__dirname, '../../test/fixtures/policies');
const load = (names: string[]) => resolvePolicies(names, { cwd: FIXTURES });

const loadError = (names: string[], cwd = FIXTURES): PolicyLoadError => thrownError(() => resolvePolicies(names, { cwd }), PolicyLoadError);

describe('resolvePolicies: built-in names (DOMAIN A.2.7)', () => {
  it('knows the three built-ins and the example, in chain order', () => {
    expect(BUILTIN_POLICY_NAMES).toEqual(['exit-to-vmm', 'tag-alloc-retry', 'inject-sea', 'device-sea']);
    expect(load(['inject-sea', 'tag-alloc-retry', 'exit-to-vmm', 'device-sea']).map((p) => `${p.name}@${p.version}`)).toEqual([
      'inject-sea@0.1.0',
      'tag-alloc-retry@0.1.0',
      'exit-to-vmm@0.1.0',
      'device-sea@0.1.0',
    ]);
  });

  it('an empty list is an empty chain (the mmu falls back to exit-to-vmm)', () => {
    expect(load([])).toEqual([]);
  });
});

describe('resolvePolicies: file paths', () => {
  it('loads ./relative .cjs and .js files from cwd, and absolute paths', () => {
    const [a, b, c] = load(['./retry-first-two.cjs', './default-export.js', join(FIXTURES, 'retry-first-two.cjs')]);
    expect([a!.name, b!.name, c!.name]).toEqual(['retry-first-two', 'default-export', 'retry-first-two']);
    expect(b!.decide({} as never, {} as never)).toEqual({ kind: 'inject-sea' });
  });

  it('../ paths resolve against cwd', () => {
    expect(resolvePolicies(['../policies/spin.cjs'], { cwd: join(FIXTURES, '..', 'policies') })[0]!.name).toBe('spin');
  });
});

describe('resolvePolicies: npm packages', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mteperm-policy-'));
    const pkg = join(dir, 'node_modules', '@acme', 'mteperm-policy');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@acme/mteperm-policy', version: '3.1.4', main: 'lib/main.js' }));
    mkdirSync(join(pkg, 'lib'));
    writeFileSync(join(pkg, 'lib', 'main.js'), "module.exports = { name: 'acme', version: '3.1.4', decide: () => ({ kind: 'exit-to-vmm' }) };\n");
    const broken = join(dir, 'node_modules', 'broken-policy');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'index.js'), "module.exports = { name: 'broken', version: '1' };\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves a package name from cwd node_modules (package.json main)', () => {
    const [p] = resolvePolicies(['@acme/mteperm-policy'], { cwd: dir });
    expect({ name: p!.name, version: p!.version, decision: p!.decide({} as never, {} as never) }).toEqual({ name: 'acme', version: '3.1.4', decision: { kind: 'exit-to-vmm' } });
  });

  it('a package that breaks the contract names the package and the member', () => {
    const e = loadError(['broken-policy'], dir);
    expect(e.message).toBe(
      `policy 'broken-policy': ${join(dir, 'node_modules', 'broken-policy', 'index.js')} does not meet the plugin contract: decide is missing (a policy is { name, version, decide(fault, ctx) })`,
    );
  });

  it('a name that is neither built-in, nor a path, nor installed', () => {
    const e = loadError(['tag-alloc-retyr'], dir);
    expect({ name: e.name, code: e.code, policy: e.policy, resolved: e.resolved }).toEqual({ name: 'PolicyLoadError', code: 'MTEPERM_POLICY_LOAD', policy: 'tag-alloc-retyr', resolved: undefined });
    expect(e.message).toBe(
      `policy 'tag-alloc-retyr': not a built-in policy (exit-to-vmm, tag-alloc-retry, inject-sea, device-sea), a file path (./name.js) or an npm package installed for ${dir}`,
    );
  });
});

describe('resolvePolicies: errors are one line naming the policy (code MTEPERM_POLICY_LOAD)', () => {
  const f = (name: string) => join(FIXTURES, name);

  it.each([
    ['./missing.js', () => `policy './missing.js': no such file ${f('missing.js')}`],
    ['./no-decide.cjs', () => `policy './no-decide.cjs': ${f('no-decide.cjs')} does not meet the plugin contract: decide is missing (a policy is { name, version, decide(fault, ctx) })`],
    ['./wrong-types.cjs', () => `policy './wrong-types.cjs': ${f('wrong-types.cjs')} does not meet the plugin contract: name must be a non-empty string, got number 42`],
    [
      './decide-string.cjs',
      () => `policy './decide-string.cjs': ${f('decide-string.cjs')} does not meet the plugin contract: decide must be a function, got string "exit-to-vmm" (a policy is { name, version, decide(fault, ctx) })`,
    ],
    ['./throws-on-load.cjs', () => `policy './throws-on-load.cjs': loading ${f('throws-on-load.cjs')} failed: Error: MY_POLICY_CONFIG is not set`],
    ['./policy.mjs', () => `policy './policy.mjs': ${f('policy.mjs')}: a policy file must be CommonJS ending in .js or .cjs`],
    ['.', () => `policy '.': ${FIXTURES} is not a file`],
    ['', () => `policy '': empty policy name`],
  ])('%p', (name, message) => {
    const e = loadError(['exit-to-vmm', name]);
    expect(e.message).toBe(message());
    expect(e.message).not.toContain('\n');
    expect(e.code).toBe('MTEPERM_POLICY_LOAD');
  });
});
