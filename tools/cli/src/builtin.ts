import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors';

/** Built-in scenarios ship as files users can copy: tools/cli/scenarios/<name>.yaml. */
export const SCENARIO_DIR = join(__dirname, '..', 'scenarios');
const PREFIX = 'builtin:';

export function builtinNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/** `builtin:NAME` → the file of that scenario; any other argument is a path, returned as is. */
export function resolveScenarioArg(arg: string): string {
  if (!arg.startsWith(PREFIX)) return arg;
  const name = arg.slice(PREFIX.length);
  const file = join(SCENARIO_DIR, `${name}.yaml`);
  if (!/^[a-z0-9._-]+$/.test(name) || !existsSync(file)) {
    throw new CliError('MTEPERM_CLI_BUILTIN', `${arg}: no such built-in scenario (try: mteperm scenarios)`);
  }
  return file;
}
