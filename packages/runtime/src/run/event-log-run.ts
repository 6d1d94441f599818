import type { EventLog, NewLogHeader } from '@mteperm/log';
import { MtelogDigest } from '@mteperm/log';
import type { Scenario } from '../scenario/types';
import type { ContractResult } from './result';
import { PRODUCER, runScenario } from './run-scenario';
import type { RunOptions, RunOutcome } from './run-scenario';

/** The header a run's log is created with: the kernel profile it runs under and this producer. */
export function runLogHeader(scenario: Scenario, options: Pick<RunOptions, 'kernel'> = {}): NewLogHeader {
  return { profile: options.kernel ?? scenario.kernel, producer: PRODUCER };
}

/**
 * Runs a scenario and records it to any EventLog (create the log with `runLogHeader`): the
 * `.mtelog` file or a JetStream run. The run itself is synchronous; the log is closed (for
 * JetStream: every segment acknowledged) before this resolves. `log.sha256` is the digest of the
 * log's `.mtelog` form, so a run has the same digest whichever backend recorded it.
 */
export async function recordScenarioToLog(scenario: Scenario, log: EventLog, options: Omit<RunOptions, 'sink'> = {}): Promise<{ result: ContractResult; outcome: RunOutcome }> {
  const digest = new MtelogDigest(log.header, log.location);
  let outcome: RunOutcome;
  try {
    outcome = runScenario(scenario, {
      ...options,
      sink: (bytes) => {
        log.append(bytes);
        digest.add(bytes);
      },
    });
  } catch (e) {
    await log.abort();
    throw e;
  }
  await log.close();
  const result: ContractResult = { ...outcome.result, log: { path: log.location, events: outcome.events, sha256: digest.hex() } };
  return { result, outcome };
}
