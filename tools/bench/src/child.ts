import { replayLog, runNested, runPipeline, runPolicyPipeline, runRevisit } from './whole';

// One measurement per process (see `inChild`): `child.js pipeline|nested|revisit <accesses> [log]` or
// `child.js replay <log>` or `child.js untrusted|sandboxed <accesses> <policy.cjs>`; prints one JSON line.
const [what, a, b] = process.argv.slice(2);
let out: unknown;
if (what === 'pipeline') out = runPipeline(Number(a), b);
else if (what === 'nested') out = runNested(Number(a), b);
else if (what === 'revisit') out = runRevisit(Number(a), b);
else if (what === 'replay') out = replayLog(a!);
else if (what === 'untrusted' || what === 'sandboxed') out = runPolicyPipeline(Number(a), b!, what === 'sandboxed');
else throw new Error(`bench child: unknown measurement ${what}`);
process.stdout.write(`${JSON.stringify(out)}\n`);
