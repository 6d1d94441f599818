import { join } from 'node:path';
import type { FaultPolicy, FaultPolicyContext, PluginFailureReason, PolicyDecisionKind, TagAccessFault } from '../types';

/** What one `decide` call came to: a decision kind, or why the plugin is skipped. */
export type PolicyCallResult =
  | { readonly ok: true; readonly kind: PolicyDecisionKind }
  | { readonly ok: false; readonly reason: PluginFailureReason; readonly message: string };

interface SharedClassify {
  classify(policy: FaultPolicy, fault: TagAccessFault, ctx: FaultPolicyContext, isKind: (v: unknown) => boolean): PolicyCallResult;
  errorText(e: unknown): string;
}

/** The folder of the plain-CommonJS files the sandbox child runs (beside `src` and `dist`). */
export const SANDBOX_DIR = join(__dirname, '..', '..', 'sandbox');

// One classifier for both sides of the sandbox: the child may read only its own folder and the
// policy's, so the code lives there as CommonJS and this side loads the same file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const shared = require(join(SANDBOX_DIR, 'classify.cjs')) as SharedClassify;

export const classify = shared.classify;
export const errorText = shared.errorText;
