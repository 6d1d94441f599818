/** Exit statuses of CONTRACT §2: the single place where errors become exit codes. */
export const EXIT_OK = 0;
export const EXIT_EXPECT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

/** A CLI-level refusal with its exit status (bad arguments, unknown built-in, damaged log). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT_BAD_INPUT,
  ) {
    super(message);
  }
}

// Error codes of the packages whose errors mean "the input is bad", not "mteperm is broken".
const BAD_INPUT_PREFIXES = ['MTEPERM_SCENARIO_', 'MTEPERM_LOG_', 'MTEPERM_CPU_', 'MTEPERM_UAPI_', 'MTEPERM_POLICY_', 'MTEPERM_PLUGIN_', 'MTEPERM_CLI_', 'MTEPERM_OUTPUT_PATH'];
// Codes that mean "the system refused" (a write failed: ENOSPC, EIO, EACCES): exit 3, but a known
// one-line cause that names the path and errno, not an internal error.
const INFRA_CODES = new Set(['MTEPERM_OUTPUT_WRITE']);

/** Exit status and the one line to print for anything thrown by a command. */
export function classify(error: unknown): { exitCode: number; line: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, line: oneLine(error.message) };
  const code = error !== null && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && INFRA_CODES.has(code)) return { exitCode: EXIT_INTERNAL, line: oneLine(message) };
  if (typeof code === 'string' && BAD_INPUT_PREFIXES.some((p) => code.startsWith(p))) return { exitCode: EXIT_BAD_INPUT, line: oneLine(message) };
  if (typeof code === 'string' && (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')) return { exitCode: EXIT_BAD_INPUT, line: oneLine(message) };
  return { exitCode: EXIT_INTERNAL, line: `internal error: ${oneLine(message)}` };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
