/**
 * The package graph of ARCHITECTURE.md as data: which `@mteperm/*` packages each project may depend on.
 * A project not listed here has no place in the graph yet, and the check says so.
 */

const BOTTOM = ['@mteperm/arm64', '@mteperm/events'] as const;
/** What every domain package may use: the facts, the schema, the bus. They talk through events. */
const DOMAIN = [...BOTTOM, '@mteperm/bus'] as const;

const PACKAGES = [
  '@mteperm/arm64',
  '@mteperm/events',
  '@mteperm/bus',
  '@mteperm/log',
  '@mteperm/cpufeature',
  '@mteperm/uapi',
  '@mteperm/pgtable',
  '@mteperm/mmu',
  '@mteperm/nested',
  '@mteperm/plugin-api',
  '@mteperm/runtime',
];
const PLUGINS = ['@mteperm/policy-example', '@mteperm/policy-exit-to-vmm', '@mteperm/policy-inject-sea', '@mteperm/policy-tag-alloc-retry'];

/** Allowed `@mteperm/*` dependencies per project (package name → names). */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  '@mteperm/arm64': [],
  '@mteperm/events': [],
  '@mteperm/bus': [...BOTTOM],
  '@mteperm/log': [...BOTTOM, '@mteperm/bus'],
  '@mteperm/cpufeature': DOMAIN,
  '@mteperm/uapi': DOMAIN,
  '@mteperm/pgtable': DOMAIN,
  '@mteperm/mmu': [...DOMAIN, '@mteperm/plugin-api'],
  '@mteperm/nested': DOMAIN,
  '@mteperm/plugin-api': [...BOTTOM],
  // runtime wires every package and the built-in plugins.
  '@mteperm/runtime': [...PACKAGES.filter((p) => p !== '@mteperm/runtime'), ...PLUGINS],
  // Plugins see the contract and, for facts, the architecture kernel; never model state.
  ...Object.fromEntries(PLUGINS.map((p) => [p, ['@mteperm/plugin-api', '@mteperm/arm64']])),
  // Tools sit on top: any package or plugin, no other tool.
  '@mteperm/cli': [...PACKAGES, ...PLUGINS],
  '@mteperm/bench': [...PACKAGES, ...PLUGINS],
  '@mteperm/graph-check': [],
};

/** A forbidden edge tolerated for now, with the issue that removes it. */
export interface AllowedException {
  readonly from: string;
  readonly to: string;
  readonly issue: number;
  readonly why: string;
}

// Empty: issue 18 removed the last one (nested → pgtable; both now share @mteperm/arm64's TranslationTable).
export const EXCEPTIONS: readonly AllowedException[] = [];

/**
 * Files at the workspace root a project may reach by a relative path: the shared Jest preset that
 * every `jest.config.cjs` extends (tooling, not code of another package).
 */
export const ROOT_FILES: readonly string[] = ['jest.preset.js', 'jest.fast-check.js'];
