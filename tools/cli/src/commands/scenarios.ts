import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { builtinNames, SCENARIO_DIR } from '../builtin';
import type { CliIo } from '../io';

/** The first comment line of a built-in scenario file is its one-line description. */
function describe(name: string): string {
  const text = readFileSync(join(SCENARIO_DIR, `${name}.yaml`), 'utf8');
  const first = text.split('\n').find((l) => l.startsWith('#'));
  return first === undefined ? '' : first.replace(/^#\s*/, '');
}

/**
 * A `# compare: ...` comment line marks a scenario made to show how the kernel profiles differ;
 * its text says what differs (`mteperm compare builtin:NAME` shows it).
 */
export function compareNote(name: string): string | null {
  const text = readFileSync(join(SCENARIO_DIR, `${name}.yaml`), 'utf8');
  const line = text.split('\n').find((l) => /^#\s*compare:/.test(l));
  return line === undefined ? null : line.replace(/^#\s*compare:\s*/, '');
}

/** `mteperm scenarios`: the built-in scenarios, runnable as `mteperm run builtin:NAME`. */
export function scenariosCommand(io: CliIo): Command {
  return new Command('scenarios')
    .description('list the built-in scenarios (mteperm run builtin:NAME)')
    .option('--json', 'as a JSON array of {name, description, file, compare}')
    .action((flags: { json?: boolean }) => {
      const names = builtinNames();
      if (flags.json === true) {
        const list = names.map((name) => ({ name, description: describe(name), file: join(SCENARIO_DIR, `${name}.yaml`), compare: compareNote(name) }));
        io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      const w = Math.max(...names.map((n) => n.length));
      for (const n of names) {
        io.stdout.write(`builtin:${n.padEnd(w)}  ${describe(n)}\n`);
        const note = compareNote(n);
        if (note !== null) io.stdout.write(`${' '.repeat(w + 10)}kernels differ (mteperm compare builtin:${n}): ${note}\n`);
      }
    });
}
