import { randomBytes } from 'node:crypto';
import type { JetStreamStore } from './connection';

// The fleet's work queue (README "JetStream logs", `replay nats://... --all`): one work-queue stream,
// one subject and one durable consumer per job, shared by every worker process of that job.
export const WORK_STREAM = 'MTEPERM_WORK';
export const WORK_PREFIX = 'mteperm.work.';

async function ensureWorkStream(store: JetStreamStore): Promise<void> {
  try {
    await store.jsm.streams.info(WORK_STREAM);
  } catch {
    try {
      await store.jsm.streams.add({ name: WORK_STREAM, subjects: [`${WORK_PREFIX}>`], retention: 'workqueue', storage: 'file' });
    } catch (e) {
      // Another coordinator made it meanwhile.
      await store.jsm.streams.info(WORK_STREAM).catch(() => {
        throw e;
      });
    }
  }
}

function durableOf(job: string): string {
  return `fleet_${job}`;
}

/**
 * One job of the work queue: its items (run ids) are published once each (idempotently); workers
 * `take` them from one shared durable consumer, an item acknowledged only after its handler
 * returns, so an item of a worker that dies is redelivered to another (at most 3 deliveries).
 */
export class WorkQueue {
  private constructor(
    private readonly store: JetStreamStore,
    /** The job id the workers are given. */
    readonly job: string,
  ) {}

  /** Creates a job holding `items`. */
  static async create(store: JetStreamStore, items: readonly string[]): Promise<WorkQueue> {
    const job = randomBytes(6).toString('hex');
    const subject = `${WORK_PREFIX}${job}`;
    await ensureWorkStream(store);
    await store.jsm.consumers.add(WORK_STREAM, { durable_name: durableOf(job), filter_subject: subject, ack_policy: 'explicit', ack_wait: 120_000_000_000, max_deliver: 3 });
    const q = new WorkQueue(store, job);
    try {
      for (const item of items) await store.js.publish(subject, item, { msgID: `${job}:${item}` });
    } catch (e) {
      await q.close();
      throw e;
    }
    return q;
  }

  /** A worker's loop: handles items of `job` until none is left (1 s without one); acknowledges each after its handler. */
  static async take(store: JetStreamStore, job: string, handle: (item: string) => Promise<void>): Promise<void> {
    const consumer = await store.js.consumers.get(WORK_STREAM, durableOf(job));
    for (;;) {
      const m = await consumer.next({ expires: 1000 });
      if (m === null) return;
      await handle(m.string());
      await m.ackAck();
    }
  }

  /** Removes the job's consumer and whatever of its items is left. */
  async close(): Promise<void> {
    await this.store.jsm.consumers.delete(WORK_STREAM, durableOf(this.job)).catch(() => undefined);
    await this.store.jsm.streams.purge(WORK_STREAM, { filter: `${WORK_PREFIX}${this.job}` }).catch(() => undefined);
  }
}
