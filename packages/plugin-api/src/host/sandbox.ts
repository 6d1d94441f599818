import { dirname } from 'node:path';
import { deserialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { POLICY_DECISION_KINDS } from '../decisions';
import type { FaultPolicy, FaultPolicyContext, PluginFailureReason, TagAccessFault } from '../types';
import { SANDBOX_DIR } from './classify';
import type { PolicyCallResult } from './classify';
import { answeredBy, DEFAULT_LOAD_BUDGET_MS } from './policy-call';

/** Time for the sandbox's Node process to start, before the load budget begins. */
export const SANDBOX_STARTUP_LIMIT_MS = 10_000;

// Answers are one decision or one error text: 1 MiB holds a plugin's longest message (cut beyond).
const DATA_BYTES = 1 << 20;

/** What loading a policy in the sandbox came to (the host turns it into a policy or an error). */
export type SandboxLoad =
  | { readonly type: 'loaded'; readonly policy: FaultPolicy; readonly shape: SandboxShape }
  | { readonly type: 'load-threw'; readonly error: { code?: string; name?: string; message?: string; text: string } }
  | { readonly type: 'load-failed'; readonly reason: PluginFailureReason; readonly message: string };

/** The loaded export as the child saw it, for the contract check on this side. */
export interface SandboxShape {
  readonly value: unknown;
  readonly name?: unknown;
  readonly version?: unknown;
  readonly decide?: unknown;
}

interface Message {
  readonly type: string;
  readonly [k: string]: unknown;
}

/** The Node options of the sandbox process (Node 20's permission model). */
export function sandboxExecArgv(policyFile: string): string[] {
  return [
    '--experimental-permission',
    // Only the child's own scripts and the policy's folder; no --allow-fs-write, --allow-child-process,
    // --allow-worker: those are then refused with ERR_ACCESS_DENIED.
    `--allow-fs-read=${SANDBOX_DIR}`,
    `--allow-fs-read=${dirname(policyFile)}`,
    '--no-addons',
    // The permission model's "experimental" warning would land in the host's stderr on every start.
    '--no-warnings',
  ];
}

const open = new Set<SandboxProcess>();

/**
 * One untrusted policy in a separate Node process (README "Plugin isolation", `--sandbox`). The
 * fault path is synchronous, so the host's thread blocks in `Atomics.wait` on a SharedArrayBuffer
 * while a worker thread talks to the child. The child keeps the load and `decide` limits with the
 * host's own watchdog (so an overrun is answered as in process); the worker kills a child that has
 * not answered a second after its limit, and the next call then starts a fresh one.
 */
class SandboxProcess {
  private readonly sab = new SharedArrayBuffer(8 + DATA_BYTES);
  private readonly ctrl = new Int32Array(this.sab, 0, 2);
  private readonly data = new Uint8Array(this.sab, 8);
  private readonly worker: Worker;
  private seen = 0;

  constructor(
    readonly file: string,
    private readonly loadBudgetMs: number,
  ) {
    this.worker = new Worker(`${SANDBOX_DIR}/worker.cjs`, {
      workerData: {
        sab: this.sab,
        execArgv: sandboxExecArgv(file),
        childScript: `${SANDBOX_DIR}/child.cjs`,
        file,
        kinds: [...POLICY_DECISION_KINDS],
        loadBudgetMs,
        startupLimitMs: SANDBOX_STARTUP_LIMIT_MS,
      },
      stdout: false,
      stderr: false,
    });
    // A sandbox never keeps the host alive: its work is done when the host's is.
    this.worker.unref();
    open.add(this);
  }

  /** Blocks until the worker's next message; undefined if none came within `limitMs`. */
  private receive(limitMs: number): Message | undefined {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      Atomics.wait(this.ctrl, 0, this.seen, left);
      const now = Atomics.load(this.ctrl, 0);
      if (now !== this.seen) {
        this.seen = now;
        const len = Atomics.load(this.ctrl, 1);
        return deserialize(this.data.slice(0, len)) as Message;
      }
    }
  }

  load(): Message | undefined {
    this.worker.postMessage({ type: 'load' });
    return this.receive(SANDBOX_STARTUP_LIMIT_MS + this.loadBudgetMs + 3000);
  }

  call(fault: TagAccessFault, ctx: FaultPolicyContext, budgetMs: number): PolicyCallResult {
    const facts = { kernel: ctx.kernel, tagPoolRemaining: ctx.tagPoolRemaining, faultsSeen: ctx.faultsSeen, tagPagesAllocated: ctx.tagStorage.allocatedPages };
    const plain = { ...fault, memslot: { ...fault.memslot }, stage2: { ...fault.stage2 } };
    this.worker.postMessage({ type: 'decide', fault: plain, facts, budgetMs });
    // The worker keeps the limits; this cap only guards against the worker itself being stuck.
    const cap = SANDBOX_STARTUP_LIMIT_MS + this.loadBudgetMs + budgetMs + 3000;
    for (;;) {
      const msg = this.receive(cap);
      if (msg === undefined) return { ok: false, reason: 'timeout', message: `decide() did not return within ${budgetMs} ms` };
      if (msg.type === 'query') {
        const ipa = msg['ipa'];
        this.worker.postMessage({ type: 'answer', value: typeof ipa === 'bigint' && ctx.tagStorage.hasTagStorage(ipa) });
        continue;
      }
      return msg['result'] as PolicyCallResult;
    }
  }

  close(): void {
    open.delete(this);
    this.worker.postMessage({ type: 'close' });
  }
}

/**
 * Starts `file` (an absolute path) in a sandbox and loads it; returns what loading came to. A
 * loaded policy is a stand-in whose calls go to the sandbox (callPolicy knows it).
 */
export function loadSandboxed(file: string, loadBudgetMs: number = DEFAULT_LOAD_BUDGET_MS): SandboxLoad {
  const box = new SandboxProcess(file, loadBudgetMs);
  const msg = box.load();
  if (msg === undefined) {
    box.close();
    return { type: 'load-failed', reason: 'timeout', message: `loading did not finish within ${loadBudgetMs} ms` };
  }
  if (msg.type !== 'loaded') {
    box.close();
    return msg as unknown as SandboxLoad;
  }
  const shape = msg['shape'] as SandboxShape;
  const stub: FaultPolicy = {
    name: shape.name as string,
    version: shape.version as string,
    decide: () => {
      throw new Error('a sandboxed policy is called through callPolicy');
    },
  };
  answeredBy(stub, (fault, ctx, budgetMs) => box.call(fault, ctx, budgetMs));
  sandboxes.set(stub, box);
  return { type: 'loaded', policy: stub, shape };
}

const sandboxes = new WeakMap<FaultPolicy, SandboxProcess>();

/** Ends the sandbox processes of `policies` (others are left alone). */
export function closeSandboxes(policies: readonly FaultPolicy[]): void {
  for (const p of policies) sandboxes.get(p)?.close();
}

/** Ends every sandbox process still running. */
export function closeAllSandboxes(): void {
  for (const box of [...open]) box.close();
}
