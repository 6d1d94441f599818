import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EventBus } from '@mteperm/bus';
import type { EventSink } from '@mteperm/bus';
import { probeHostCpus } from '@mteperm/cpufeature';
import { resolveCap } from '@mteperm/uapi';
import type { Envelope } from '@mteperm/events';
import { logSink, openLogWriter } from '@mteperm/log';
import type { FaultPolicy } from '@mteperm/mmu';
import type { PolicyLoadFailure } from '@mteperm/plugin-api/host';
import { loadPolicyChain } from '../policy/resolve-policies';
import type { AccessStep, KernelProfile, Scenario, ScenarioStep } from '../scenario/types';
import { accessResult, errnoOf } from './access-outcome';
import { composeLiveModel } from './compose';
import type { Model } from './compose';
import { hex } from './hex';
import { cpusOf } from './host-cpus';
import type { ContractResult, LeafResult, MigrationResultJson, PluginFailureJson, StepResult } from './result';
import { shadowStage2Leaves, stage2Leaves } from './leaves';
import { stateDigest } from './state-digest';

export const PRODUCER = 'mteperm 0.1.0';

export interface RunOptions {
  /** Overrides the scenario's `kernel` (CLI `--kernel`). */
  readonly kernel?: KernelProfile;
  /** Names of the policies in order, as recorded in RunStarted (default: the scenario's `policy`). */
  readonly policyNames?: readonly string[];
  /** The policies themselves (default: `policyNames ?? scenario.policy` loaded by resolvePolicies). */
  readonly policies?: readonly FaultPolicy[];
  /** Where policy file paths and npm packages resolve from (default: the working folder). */
  readonly policyCwd?: string;
  /** Run file and package policies in sandboxed processes (default: the scenario's `policy_options.sandbox`). */
  readonly sandbox?: boolean;
  /** Receives every encoded event (the log). */
  readonly sink?: EventSink;
  /** Called after each step (progress reporting). */
  readonly onStep?: (done: number, total: number) => void;
}

/** A finished run: the CONTRACT §3 document without its `log` member, and the digest it recorded. */
export interface RunOutcome {
  readonly result: Omit<ContractResult, 'log'>;
  readonly events: number;
  readonly stateSha256: string;
  readonly model: Model;
}

const MTE_NAMES = ['NI', 'MTE', 'MTE2', 'MTE3'];

/** Runs a validated scenario on a fresh model (all packages on one bus) and assembles its result. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): RunOutcome {
  const sandbox = options.sandbox ?? scenario.policy_options.sandbox ?? false;
  const chain =
    options.policies === undefined
      ? loadPolicyChain(options.policyNames ?? scenario.policy, { ...(options.policyCwd === undefined ? {} : { cwd: options.policyCwd }), sandbox })
      : { policies: [...options.policies], failures: [], close: () => undefined };
  try {
    return runChain(scenario, options, chain.policies, chain.failures);
  } finally {
    chain.close();
  }
}

function runChain(scenario: Scenario, options: RunOptions, policies: readonly FaultPolicy[], loadFailures: readonly PolicyLoadFailure[]): RunOutcome {
  const bus = new EventBus(options.sink === undefined ? {} : { sink: options.sink });
  const model = composeLiveModel(bus, { policies });
  const kernel = options.kernel ?? scenario.kernel;

  // Skipped policy calls, by the step that made them (CONTRACT §3 `plugin_failures`).
  const pluginFailures: PluginFailureJson[] = [];
  let current: number | null = null;
  bus.subscribe('run:plugin-failures', 'PluginFailed', (e) => pluginFailures.push({ plugin: e.data.plugin, step: current, reason: e.data.reason }));

  bus.publish({
    type: 'RunStarted',
    data: { scenario: scenario.name, kernel, policies: [...(options.policyNames ?? scenario.policy)], tag_pool_pages: BigInt(scenario.policy_options.tag_pool_pages) },
  });
  // A plugin skipped while loading is recorded once, before any step (hook `load`).
  for (const f of loadFailures) bus.publish({ type: 'PluginFailed', data: { plugin: f.plugin, hook: 'load', reason: f.reason, message: f.message } });
  const host = bus.publish({ type: 'HostCpusProbed', data: probeHostCpus(cpusOf(scenario.host, 'host.cpus')) }).data;

  const steps: StepResult[] = [];
  let migration: MigrationResultJson | null = null;
  let vm = 0;
  for (const step of scenario.steps) {
    current = step.index;
    const r = runStep(step);
    steps.push(r);
    options.onStep?.(steps.length, scenario.steps.length);
    if (step.op === 'migrate') migration = { accepted: r['accepted'] as boolean, failed: r['failed'] as MigrationResultJson['failed'] };
  }

  const stateSha256 = stateDigest(model);
  bus.publish({ type: 'StateHashRecorded', data: { sha256: Buffer.from(stateSha256, 'hex'), events: bus.seq } });
  bus.complete();

  const result = {
    scenario: scenario.name,
    kernel,
    host: { mte: MTE_NAMES[host.mte] ?? String(host.mte), mte_perm: host.mte_perm, s2fwb: host.s2fwb, nv: host.nv },
    steps,
    stage2: stage2Leaves(model, vm),
    shadow_stage2: shadowStage2Leaves(model, vm),
    migration,
    plugin_failures: pluginFailures,
  };
  return { result, events: Number(bus.seq), stateSha256, model };

  function runStep(step: ScenarioStep): StepResult {
    const head = { index: step.index, op: step.op };
    switch (step.op) {
      case 'create_vm': {
        const r = model.uapi.createVm({ ipa_bits: step.ipa_bits });
        if (r.vm !== undefined) vm = r.vm;
        return { ...head, ...errnoOf(r.ret) };
      }
      case 'check_extension': {
        const r = model.uapi.checkExtension({ cap: step.cap }, { vm });
        return { ...head, cap: capName(step.cap), ret: r.ret };
      }
      case 'enable_cap': {
        const r = model.uapi.enableCap({ cap: step.cap, flags: BigInt(step.flags), args: step.args, step: step.index }, { vm });
        return { ...head, cap: capName(step.cap), ...errnoOf(r.ret) };
      }
      case 'set_user_memory_region': {
        const r = model.uapi.setUserMemoryRegion(
          { slot: step.slot, guest_phys_addr: step.guest_phys_addr, memory_size: step.memory_size, backing: step.backing, flags: step.flags, step: step.index },
          { vm },
        );
        return { ...head, slot: step.slot, ...errnoOf(r.ret) };
      }
      case 'create_vcpu': {
        const r = model.uapi.createVcpu({ id: step.id, el2: step.el2 }, { vm });
        return { ...head, vcpu: step.id, ...errnoOf(r.ret) };
      }
      case 'access': {
        // KVM_RUN owns the access; its AccessEnded is the step's result (-EBADF without a vCPU fd).
        const end = model.uapi.runAccess({ step: step.index, gpa: step.gpa, op: step.access, level: step.level, tcf: step.tcf, s1: step.s1, ...guestContextOf(step) }, { vm, vcpu: step.vcpu });
        return accessResult(step.index, step.vcpu, hex(step.gpa), step.access, end);
      }
      case 'migrate': {
        const target = probeHostCpus(cpusOf(step.to, `steps[${step.index}].migrate.to.cpus`));
        const r = model.uapi.migrate({ target }, { vm });
        const failed = r.failed === null ? null : { ...r.failed, ...(r.failed.errno === undefined ? {} : { errno: r.failed.errno }) };
        return { ...head, accepted: r.accepted, failed };
      }
      case 'mte_copy_tags': {
        const r = model.uapi.mteCopyTags({ guest_ipa: step.gpa, length: step.length, to_guest: step.to_guest }, { vm });
        return { ...head, ...errnoOf(r.ret) };
      }
      case 'get_one_reg': {
        // KVM_GET_ONE_REG is a vCPU ioctl: without the vCPU fd it fails -EBADF. It reads, never
        // changes, state, so it records no event (DOMAIN A.3.10).
        if (model.uapi.state.vms.get(vm)?.vcpus.has(step.vcpu) !== true) return { ...head, vcpu: step.vcpu, reg: step.reg, ...errnoOf(-9) };
        const regs = model.cpufeature.guestIdRegs(vm, step.vcpu);
        const value = step.reg === 'ID_AA64PFR1_EL1' ? regs.id_aa64pfr1_el1 : step.reg === 'ID_AA64PFR2_EL1' ? regs.id_aa64pfr2_el1 : regs.id_aa64mmfr2_el1;
        return { ...head, vcpu: step.vcpu, reg: step.reg, ret: 0, value: hex(value) };
      }
      case 'guest_stage2': {
        const r = model.nested.writeGuestStage2({ vcpu: step.vcpu, map: step.map }, { vm });
        if (r.error !== undefined) return { ...head, vcpu: step.vcpu, ...errnoOf(r.ret), code: r.error.code, reason: r.error.message };
        // The descriptors the guest hypervisor wrote and where they sit in its memory (README).
        return { ...head, vcpu: step.vcpu, ret: r.ret, leaves: r.leaves };
      }
    }
  }
}

/**
 * The A.3.3 / A.3.7 fields of an access, each only when it differs from its default: an access that
 * uses the defaults records the same bytes as before these fields existed.
 */
function guestContextOf(step: AccessStep): { size?: number; pair?: boolean; reg?: number; ata?: boolean; tco?: boolean } {
  const c: { size?: number; pair?: boolean; reg?: number; ata?: boolean; tco?: boolean } = {};
  if (step.size !== 8) c.size = step.size;
  if (step.pair) c.pair = true;
  if (step.reg !== 0) c.reg = step.reg;
  if (!step.ata) c.ata = false;
  if (step.tco) c.tco = true;
  return c;
}

/** The capability's kernel name for the result (the uapi's table); an unknown number as itself. */
function capName(cap: string | number): string {
  const { name } = resolveCap(cap);
  return name === '' ? String(cap) : name;
}

/** Runs a scenario and records its log at `logPath` (replaced atomically); returns the CONTRACT §3 document. */
export function recordScenario(scenario: Scenario, logPath: string, options: Omit<RunOptions, 'sink'> = {}): { result: ContractResult; outcome: RunOutcome } {
  const kernel = options.kernel ?? scenario.kernel;
  const writer = openLogWriter(logPath, { profile: kernel, producer: PRODUCER });
  let outcome: RunOutcome;
  try {
    outcome = runScenario(scenario, { ...options, sink: logSink(writer) });
  } catch (e) {
    writer.abort();
    throw e;
  }
  writer.close();
  const sha256 = createHash('sha256').update(readFileSync(logPath)).digest('hex');
  const result: ContractResult = { ...outcome.result, log: { path: logPath, events: outcome.events, sha256 } };
  return { result, outcome };
}
