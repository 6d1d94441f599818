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
  // MTEPERM_PROGRESS_AFTER_MS (default 1000): tests show the bar for short work.
  const after = Number(process.env['MTEPERM_PROGRESS_AFTER_MS'] ?? 1000);
  let bar: SingleBar | undefined;
  const rateOf = (done: number): string => {
    const perS = done / Math.max(0.001, (Date.now() - started) / 1000);
    return perS >= 1e6 ? `${(perS / 1e6).toFixed(1)} M` : perS >= 1e3 ? `${(perS / 1e3).toFixed(1)} k` : perS.toFixed(0);
  };
  return {
    update(done, total) {
      if (bar === undefined) {
        if (Date.now() - started < after) return;
        // Rate and time left as cli-progress computes them (eta over its moving window).
        bar = new SingleBar({ stream, format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | {eta_formatted} left`, hideCursor: true, clearOnComplete: true, etaBuffer: 50 }, Presets.shades_classic);
        bar.start(total, done, { rate: rateOf(done) });
        return;
      }
      bar.setTotal(total);
      bar.update(done, { rate: rateOf(done) });
    },
    stop() {
      bar?.stop();
    },
  };
}
