import type { Stage2LeafJson } from '@mteperm/pgtable';

/** The JSON result of a run (CONTRACT §3). Key order in these objects is the order printed. */
export interface ContractResult {
  readonly scenario: string;
  readonly kernel: string;
  readonly host: { readonly mte: string; readonly mte_perm: boolean; readonly s2fwb: boolean; readonly nv: boolean };
  readonly steps: readonly StepResult[];
  readonly stage2: readonly LeafResult[];
  readonly shadow_stage2: readonly LeafResult[];
  readonly migration: MigrationResultJson | null;
  /** Policy calls skipped (README "Where the contract is silent"); `step` null for a load. */
  readonly plugin_failures: readonly PluginFailureJson[];
  readonly log: { readonly path: string; readonly events: number; readonly sha256: string };
}

export type StepResult = { readonly index: number; readonly op: string } & { readonly [field: string]: unknown };

/** A stage-2 leaf as CONTRACT §3 prints it (pgtable's form; `tagged` refined by the mmu's sanitising). */
export type LeafResult = Stage2LeafJson;

export interface PluginFailureJson {
  readonly plugin: string;
  readonly step: number | null;
  readonly reason: string;
}

export interface MigrationResultJson {
  readonly accepted: boolean;
  readonly failed: null | { readonly step: number; readonly op: string; readonly cap?: string; readonly slot?: number; readonly ret: number; readonly errno?: string };
}

/** The canonical text of a result: two-space JSON and a final newline, byte-identical per input. */
export function formatResult(result: ContractResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
