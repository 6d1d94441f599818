/**
 * Bounds on scenario input. Scenario files come from users and outside checks, so every resource a
 * hostile file could grow (bytes, nesting, steps, alias expansion, scalar length) is capped, and
 * exceeding a cap is a `MTEPERM_SCENARIO_LIMIT` error rather than a hang, a RangeError or an OOM.
 */
export const SCENARIO_LIMITS = Object.freeze({
  /** Largest scenario file or text accepted, in bytes (UTF-16 units for `parseScenario` text). */
  maxFileBytes: 64 * 1024 * 1024,
  /** Deepest nesting of lists/mappings; the top-level mapping is depth 1. */
  maxDepth: 64,
  /** Most steps in one scenario (the contract asks for at least 10^6). */
  maxSteps: 1_000_000,
  /** Longest single scalar (string or number literal); also bounds BigInt parsing cost. */
  maxScalarChars: 65_536,
  /** YAML alias expansion budget, passed to the yaml package as `maxAliasCount`. */
  maxAliasCount: 100,
  /** Most CPUs in one host (sum of `count`), as arm64's largest NR_CPUS. */
  maxCpus: 4096,
  /** Most policy plugins listed. */
  maxPolicies: 64,
});
