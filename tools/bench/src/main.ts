import { formatTable, runBench } from './bench';

// `npm run bench [-- --quick]`: one JSON document on stdout (CONTRACT §4), a table on stderr.
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--quick');
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown argument ${unknown[0]} (usage: bench [--quick])\n`);
  process.exitCode = 2;
} else {
  const doc = runBench({ quick: args.includes('--quick'), log: (line) => process.stderr.write(`bench: ${line}\n`) });
  process.stderr.write(`${formatTable(doc)}\n`);
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}
