import { Command, CommanderError } from 'commander';
import { runCommand } from './commands/run';
import { replayCommand } from './commands/replay';
import { inspectCommand } from './commands/inspect';
import { scenariosCommand } from './commands/scenarios';
import { runsCommand } from './commands/runs';
import { exportCommand } from './commands/export';
import { fleetWorkerCommand } from './commands/fleet';
import { compareCommand } from './commands/compare';
import { viewCommand } from './commands/view';
import { classify, EXIT_BAD_INPUT, EXIT_OK } from './errors';
import type { CliIo } from './io';
import { processIo } from './io';

export const VERSION = '0.1.0';

/** The mteperm program: one factory per subcommand (commander), errors mapped to exit codes once. */
export function buildProgram(io: CliIo): Command {
  const program = new Command()
    .name('mteperm')
    .description('Run the KVM/arm64 MTE + FEAT_MTE_PERM model: scenarios, event logs, replay')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError(false);
  program.addCommand(runCommand(io));
  program.addCommand(replayCommand(io));
  program.addCommand(inspectCommand(io));
  program.addCommand(scenariosCommand(io));
  program.addCommand(runsCommand(io));
  program.addCommand(exportCommand(io));
  program.addCommand(compareCommand(io));
  program.addCommand(viewCommand(io));
  // The worker process of `replay nats://... --all` (README); not for people.
  program.addCommand(fleetWorkerCommand(), { hidden: true });
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  return program;
}

/** Runs the CLI; resolves to the exit status (CONTRACT §2). Never throws, never prints a stack. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return io.exitCode ?? EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its one line ("error: unknown option ..."); help and version are not errors.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT_OK : EXIT_BAD_INPUT;
    }
    const { exitCode, line } = classify(e);
    io.stderr.write(`mteperm: ${line}\n`);
    if (process.env['MTEPERM_DEBUG'] && e instanceof Error) io.stderr.write(`${e.stack}\n`);
    return exitCode;
  }
}

