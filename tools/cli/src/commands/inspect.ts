import { Command } from 'commander';
import { exitReasonName, hex, shadowStage2Leaves, stage2Leaves } from '@mteperm/runtime';
import type { Envelope } from '@mteperm/events';
import type { CliIo } from '../io';
import { leafTable } from '../report';
import type { RegionInfo } from '../report';
import { isNatsUrl, rebuildNats } from '../nats';
import { damageJson, rebuildWithProgress, reportLogProblems } from './replay';

function exitJson(e: Envelope): Record<string, unknown> {
  const head = { seq: Number(e.seq), vcpu: e.vcpu };
  switch (e.type) {
    case 'MemoryFaultExit':
      return { ...head, kind: 'exit', reason: exitReasonName(e.data.exit_reason) ?? String(e.data.exit_reason), gpa: hex(e.data.gpa), size: hex(e.data.size), flags: hex(e.data.flags), ret: e.data.ret };
    case 'MmioExit':
      return { ...head, kind: 'exit', reason: 'KVM_EXIT_MMIO', phys_addr: hex(e.data.phys_addr), len: hex(e.data.len), is_write: e.data.is_write, ret: 0 };
    case 'ArmNisvExit':
      return { ...head, kind: 'exit', reason: 'KVM_EXIT_ARM_NISV', fault_ipa: hex(e.data.fault_ipa), esr_iss: hex(e.data.esr_iss), ret: 0 };
    case 'KvmRunFailed':
      return { ...head, kind: 'error', gpa: hex(e.data.gpa), ret: e.data.ret, reason: e.data.reason };
    case 'InjectedAbort':
      return { ...head, kind: 'injected', abort: e.data.kind, ipa: hex(e.data.ipa), esr: hex(e.data.esr), target: e.data.target_level === 2 ? 'L1' : 'guest' };
    default:
      return { ...head, kind: e.type };
  }
}

/** `mteperm inspect LOG`: the final state rebuilt from a log (CONTRACT §2). */
export function inspectCommand(io: CliIo): Command {
  return new Command('inspect')
    .description('show the final state rebuilt from a log: memslots, stage-2 leaves, shadow stage-2 leaves, exits')
    .argument('<log>', 'the .mtelog file, or a JetStream run nats://HOST:PORT/<run-id>')
    .option('--json', 'print JSON on stdout')
    .option('--quiet', 'no progress bar')
    .action(async (path: string, flags: { json?: boolean; quiet?: boolean }) => {
      const report = isNatsUrl(path) ? await rebuildNats(path, true) : rebuildWithProgress(path, io, flags.json === true || flags.quiet === true, true);
      const vms = [...report.model.uapi.state.vms.entries()].sort(([a], [b]) => a - b);
      const last = vms.at(-1);
      const vm = last?.[0] ?? 0;
      const memslots = [...(last?.[1].memslots.values() ?? [])].sort((a, b) => (a.guest_phys_addr < b.guest_phys_addr ? -1 : 1));
      const stage2 = stage2Leaves(report.model, vm);
      const shadow = shadowStage2Leaves(report.model, vm);
      const exits = report.exits.map(exitJson);
      if (flags.json === true) {
        const doc = {
          log: path,
          kernel: report.header.profile,
          events: report.events,
          memslots: memslots.map((m) => ({
            slot: m.slot,
            guest_phys_addr: hex(m.guest_phys_addr),
            memory_size: hex(m.memory_size),
            flags: hex(m.flags),
            backing: m.vma.backing,
            mte_allowed: m.vma.mte_allowed,
          })),
          stage2,
          shadow_stage2: shadow,
          exits,
          damage: damageJson(report.damage),
        };
        io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      } else {
        const regions: RegionInfo[] = memslots.map((m) => ({ slot: m.slot, base: m.guest_phys_addr, size: m.memory_size, backing: m.vma.backing }));
        io.stdout.write(`${path}: ${report.events} events, kernel ${report.header.profile}\n\nmemslots:\n`);
        for (const m of memslots) {
          io.stdout.write(`  slot ${m.slot}  ${hex(m.guest_phys_addr)} + ${hex(m.memory_size)}  ${m.vma.backing}${m.vma.mte_allowed ? ', VM_MTE_ALLOWED' : ''}\n`);
        }
        io.stdout.write(`\nstage 2: ${stage2.length} leaves\n`);
        for (const l of leafTable(stage2, regions)) io.stdout.write(`  ${l}\n`);
        if (shadow.length > 0) {
          io.stdout.write(`\nshadow stage 2: ${shadow.length} leaves\n`);
          for (const l of leafTable(shadow, [])) io.stdout.write(`  ${l}\n`);
        }
        io.stdout.write(`\nexits: ${exits.length}\n`);
        for (const x of exits) io.stdout.write(`  #${x['seq']} vcpu ${x['vcpu']}: ${x['kind']} ${x['reason'] ?? x['abort'] ?? ''} ${x['gpa'] ?? x['ipa'] ?? x['phys_addr'] ?? ''} ret ${x['ret'] ?? ''}\n`.replace(/ +\n/, '\n'));
      }
      reportLogProblems(report, path, io);
    });
}
