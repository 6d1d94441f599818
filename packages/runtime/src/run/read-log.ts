import type { Envelope } from '@mteperm/events';
import type { LogFileReader } from '@mteperm/log';

/** Feeds every intact record of an open log file to `add`, then closes the file even if `add` throws. */
export function feedAndClose(reader: LogFileReader, add: (e: Envelope) => void): void {
  try {
    for (const e of reader.envelopes()) add(e);
  } finally {
    reader.close();
  }
}
