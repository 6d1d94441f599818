import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

const QUIET: Progress = { update: () => {}, stop: () => {} };

/**
 * A progress bar on stderr that appears only for work lasting over a second, and never when
 * stderr is not a terminal or the output is JSON (CONTRACT §2 output stays clean for scripts).
 */
export function progressOn(stream: NodeJS.WriteStream, label: string, enabled: boolean): Progress {
  if (!enabled || stream.isTTY !== true) return QUIET;
  const started = Date.now();
  let bar: SingleBar | undefined;
  return {
    update(done, total) {
      if (bar === undefined) {
        if (Date.now() - started < 1000) return;
        bar = new SingleBar({ stream, format: `${label} [{bar}] {percentage}% | {value}/{total}`, hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
        bar.start(total, done);
        return;
      }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}
