/**
 * Reads the workspace's projects (package.json) and every source import, and reports each edge the
 * graph forbids: (a) an `@mteperm/*` dependency or import outside `ALLOWED`; (b) a relative import
 * that leaves its own project; (c) an `@mteperm/*` import its package.json does not declare.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ALLOWED, EXCEPTIONS, ROOT_FILES, type AllowedException } from './rules';

export interface Project {
  readonly name: string;
  /** Absolute directory. */
  readonly dir: string;
  readonly dependencies: readonly string[];
  /** Source files: absolute path → import specifiers. */
  readonly imports: ReadonlyMap<string, readonly string[]>;
}

export type Violation =
  | { readonly kind: 'unplaced-project'; readonly project: string }
  | { readonly kind: 'forbidden-dependency'; readonly project: string; readonly to: string }
  | { readonly kind: 'forbidden-import'; readonly project: string; readonly file: string; readonly to: string }
  | { readonly kind: 'relative-escape'; readonly project: string; readonly file: string; readonly specifier: string }
  | { readonly kind: 'undeclared-import'; readonly project: string; readonly file: string; readonly to: string };

export interface Rules {
  readonly allowed: Readonly<Record<string, readonly string[]>>;
  readonly exceptions: readonly AllowedException[];
  readonly rootFiles: readonly string[];
}

export const WORKSPACE_RULES: Rules = { allowed: ALLOWED, exceptions: EXCEPTIONS, rootFiles: ROOT_FILES };

const SOURCE = /\.(ts|cts|mts|js|cjs|mjs)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'generated', 'coverage']);

/** `@mteperm/events/testing` → `@mteperm/events`; undefined for other specifiers. */
export function workspacePackageOf(specifier: string): string | undefined {
  const m = /^(@mteperm\/[^/]+)/.exec(specifier);
  return m?.[1];
}

/** Import specifiers of one source text (imports, re-exports, require, dynamic import; comments ignored). */
export function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

function walk(dir: string, out: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(path.join(dir, entry.name), out);
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      out.push(path.join(dir, entry.name));
    }
  }
}

/** Every project under packages/, plugins/ and tools/ of `root`, with its declared deps and imports. */
export function readWorkspace(root: string): Project[] {
  const projects: Project[] = [];
  for (const group of ['packages', 'plugins', 'tools']) {
    const groupDir = path.join(root, group);
    if (!fs.existsSync(groupDir)) continue;
    for (const entry of fs.readdirSync(groupDir, { withFileTypes: true })) {
      const dir = path.join(groupDir, entry.name);
      const manifest = path.join(dir, 'package.json');
      if (!entry.isDirectory() || !fs.existsSync(manifest)) continue;
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name: string; dependencies?: object; devDependencies?: object; peerDependencies?: object };
      const files: string[] = [];
      walk(dir, files);
      const imports = new Map<string, string[]>();
      for (const f of files) imports.set(f, importsOf(fs.readFileSync(f, 'utf8')));
      projects.push({
        name: pkg.name,
        dir,
        dependencies: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies }),
        imports,
      });
    }
  }
  return projects.sort((a, b) => a.name.localeCompare(b.name));
}

function permitted(rules: Rules, from: string, to: string): boolean {
  if (from === to) return true;
  if (rules.allowed[from]?.includes(to)) return true;
  return rules.exceptions.some((e) => e.from === from && e.to === to);
}

/** Every violation of `rules` in `projects` (workspace root `root`), in a stable order. */
export function checkGraph(projects: readonly Project[], root: string, rules: Rules = WORKSPACE_RULES): Violation[] {
  const out: Violation[] = [];
  const rootFiles = new Set(rules.rootFiles.map((f) => path.join(root, f)));
  for (const p of projects) {
    if (rules.allowed[p.name] === undefined) {
      out.push({ kind: 'unplaced-project', project: p.name });
      continue;
    }
    const declared = new Set(p.dependencies);
    for (const to of p.dependencies) {
      if (workspacePackageOf(to) !== undefined && !permitted(rules, p.name, to)) out.push({ kind: 'forbidden-dependency', project: p.name, to });
    }
    for (const [abs, specifiers] of p.imports) {
      const file = path.relative(root, abs);
      for (const s of specifiers) {
        const to = workspacePackageOf(s);
        if (to !== undefined) {
          if (!permitted(rules, p.name, to)) out.push({ kind: 'forbidden-import', project: p.name, file, to });
          else if (to !== p.name && !declared.has(to)) out.push({ kind: 'undeclared-import', project: p.name, file, to });
        } else if (s.startsWith('.')) {
          const target = path.resolve(path.dirname(abs), s);
          const inside = target === p.dir || target.startsWith(p.dir + path.sep);
          if (!inside && ![...rootFiles].some((r) => target === r || target === r.replace(/\.js$/, ''))) {
            out.push({ kind: 'relative-escape', project: p.name, file, specifier: s });
          }
        }
      }
    }
  }
  return out;
}

/** One line per violation, for a test failure or a CLI. */
export function formatViolation(v: Violation): string {
  switch (v.kind) {
    case 'unplaced-project':
      return `${v.project}: not in the package graph (add it to tools/graph-check/src/rules.ts and ARCHITECTURE.md)`;
    case 'forbidden-dependency':
      return `${v.project}: package.json depends on ${v.to}, which the graph forbids`;
    case 'forbidden-import':
      return `${v.file}: imports ${v.to}, which ${v.project} may not depend on`;
    case 'relative-escape':
      return `${v.file}: relative import '${v.specifier}' leaves ${v.project}; import the package instead`;
    case 'undeclared-import':
      return `${v.file}: imports ${v.to}, not declared in ${v.project}'s package.json`;
  }
}
