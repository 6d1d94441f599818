import * as path from 'node:path';
import { checkGraph, formatViolation, importsOf, readWorkspace, WORKSPACE_RULES, type Project } from './graph';

const ROOT = path.resolve(__dirname, '../../..');

describe('the workspace package graph (ARCHITECTURE.md "Package graph")', () => {
  const projects = readWorkspace(ROOT);

  it('finds every project', () => {
    expect(projects.map((p) => p.name)).toEqual(expect.arrayContaining(['@mteperm/arm64', '@mteperm/events', '@mteperm/nested', '@mteperm/cli', '@mteperm/graph-check']));
    expect(projects.length).toBeGreaterThanOrEqual(18);
  });

  it('has no forbidden edge, no relative import leaving its project, no undeclared import', () => {
    expect(checkGraph(projects, ROOT).map(formatViolation)).toEqual([]);
  });

  it('arm64 and events depend on no workspace package', () => {
    for (const name of ['@mteperm/arm64', '@mteperm/events']) {
      const p = projects.find((x) => x.name === name)!;
      expect(p.dependencies.filter((d) => d.startsWith('@mteperm/'))).toEqual([]);
    }
  });

  it('every allowlisted exception names its issue and is still needed (a stale one must be deleted)', () => {
    for (const e of WORKSPACE_RULES.exceptions) {
      expect(e.issue).toBeGreaterThan(0);
      const from = projects.find((p) => p.name === e.from);
      expect(from?.dependencies).toContain(e.to);
    }
  });
});

// A synthetic workspace: the checker itself must catch each kind of violation.
function project(name: string, dir: string, dependencies: string[], files: Record<string, string>): Project {
  const abs = path.join('/ws', dir);
  return { name, dir: abs, dependencies, imports: new Map(Object.entries(files).map(([f, src]) => [path.join(abs, f), importsOf(src)])) };
}

describe('checkGraph on a synthetic bad graph', () => {
  const good = [
    project('@mteperm/arm64', 'packages/arm64', [], { 'src/index.ts': "export const X = 1;" }),
    project('@mteperm/events', 'packages/events', [], { 'src/index.ts': "import { x } from '../generated/union';" }),
    project('@mteperm/bus', 'packages/bus', ['@mteperm/events'], { 'src/bus.ts': "import type { Envelope } from '@mteperm/events';", 'jest.config.cjs': "module.exports = { ...require('../../jest.preset.js') };" }),
    project('@mteperm/nested', 'packages/nested', ['@mteperm/arm64'], { 'src/a.ts': "import { PAGE_SIZE, TranslationTable } from '@mteperm/arm64';" }),
    project('@mteperm/pgtable', 'packages/pgtable', ['@mteperm/arm64'], {}),
  ];

  it('a good graph passes', () => {
    expect(checkGraph(good, '/ws')).toEqual([]);
  });

  // The nested → pgtable edge of issue 18: forbidden now that no exception tolerates it; an exception would.
  const nestedOnPgtable = [
    ...good.filter((p) => p.name !== '@mteperm/nested'),
    project('@mteperm/nested', 'packages/nested', ['@mteperm/arm64', '@mteperm/pgtable'], { 'src/a.ts': "import { Stage2PageTable } from '@mteperm/pgtable';" }),
  ];

  it('nested → pgtable fails (no exception left), in package.json and in source', () => {
    expect(checkGraph(nestedOnPgtable, '/ws').map(formatViolation)).toEqual([
      '@mteperm/nested: package.json depends on @mteperm/pgtable, which the graph forbids',
      'packages/nested/src/a.ts: imports @mteperm/pgtable, which @mteperm/nested may not depend on',
    ]);
  });

  it('an allowlisted exception tolerates exactly its edge', () => {
    const rules = { ...WORKSPACE_RULES, exceptions: [{ from: '@mteperm/nested', to: '@mteperm/pgtable', issue: 18, why: 'synthetic' }] };
    expect(checkGraph(nestedOnPgtable, '/ws', rules)).toEqual([]);
  });

  it('a domain package importing another domain package fails, in package.json and in source', () => {
    const bad = [...good, project('@mteperm/mmu', 'packages/mmu', ['@mteperm/uapi'], { 'src/x.ts': "import { fail } from '@mteperm/uapi';" })];
    expect(checkGraph(bad, '/ws').map(formatViolation)).toEqual([
      '@mteperm/mmu: package.json depends on @mteperm/uapi, which the graph forbids',
      'packages/mmu/src/x.ts: imports @mteperm/uapi, which @mteperm/mmu may not depend on',
    ]);
  });

  it('pgtable → nested fails; so does arm64 → events', () => {
    const bad = [
      ...good.filter((p) => p.name !== '@mteperm/pgtable' && p.name !== '@mteperm/arm64'),
      project('@mteperm/pgtable', 'packages/pgtable', ['@mteperm/arm64', '@mteperm/nested'], {}),
      project('@mteperm/arm64', 'packages/arm64', [], { 'src/v.ts': "import type { AccessOp } from '@mteperm/events';" }),
    ];
    expect(checkGraph(bad, '/ws').map((v) => v.kind)).toEqual(['forbidden-dependency', 'forbidden-import']);
  });

  it('a relative import into another package fails; one inside the package or to the shared Jest preset passes', () => {
    const bad = [...good, project('@mteperm/bench', 'tools/bench', ['@mteperm/events'], { 'src/f.ts': "import { mteperm } from '../../../packages/events/generated/pb';\nimport './own';" })];
    expect(checkGraph(bad, '/ws').map(formatViolation)).toEqual(["tools/bench/src/f.ts: relative import '../../../packages/events/generated/pb' leaves @mteperm/bench; import the package instead"]);
  });

  it('an import of a permitted package that package.json does not declare fails', () => {
    const bad = [...good, project('@mteperm/log', 'packages/log', ['@mteperm/events'], { 'src/l.ts': "export { EventBus } from '@mteperm/bus';" })];
    expect(checkGraph(bad, '/ws').map((v) => v.kind)).toEqual(['undeclared-import']);
  });

  it('a project the graph does not place fails, and imports in comments are not edges', () => {
    const bad = [...good, project('@mteperm/newthing', 'packages/newthing', [], { 'src/n.ts': "// import x from '@mteperm/uapi'" })];
    expect(checkGraph(bad, '/ws').map(formatViolation)).toEqual(['@mteperm/newthing: not in the package graph (add it to tools/graph-check/src/rules.ts and ARCHITECTURE.md)']);
  });
});
