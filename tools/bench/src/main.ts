import { formatTable, runBench } from './bench';
import { jetstreamFigures } from './jetstream';

// `npm run bench [-- --quick]`: one JSON document on stdout (CONTRACT §4), a table on stderr.
async function main(args: readonly string[]): Promise<number> {
  const unknown = args.filter((a) => a !== '--quick');
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown argument ${unknown[0]} (usage: bench [--quick])\n`);
    return 2;
  }
  const quick = args.includes('--quick');
  const log = (line: string): void => {
    process.stderr.write(`bench: ${line}\n`);
  };
  const doc = runBench({ quick, log });
  // JetStream next to the file backend, in the same run (issue 12); left out with a line when no nats-server.
  const js = await jetstreamFigures({ quick, log });
  const merged = { ...doc, figures: { ...doc.figures, ...js } };
  process.stderr.write(`${formatTable(merged)}\n`);
  process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 3;
  },
);
