/**
 * Mirror counters on a prom-client registry: the daemon's own (`/metrics`), or one a caller shares
 * with other dosync metrics. Labels are task names and fixed results only.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export interface MirrorMetrics {
  image(task: string, result: 'copied' | 'skipped' | 'failed'): void;
  bytes(task: string, n: number): void;
  error(task: string): void;
  cycle(task: string, ok: boolean, at: Date): void;
}

export function createMirrorMetrics(registry: Registry): MirrorMetrics {
  const registers = [registry];
  const images = new Counter({ name: 'dosync_mirror_images_total', help: 'Tags mirrored, by task and result (copied, skipped: already equal, failed).', labelNames: ['task', 'result'] as const, registers });
  const bytes = new Counter({ name: 'dosync_mirror_bytes_total', help: 'Blob bytes uploaded to targets.', labelNames: ['task'] as const, registers });
  const errors = new Counter({ name: 'dosync_mirror_errors_total', help: 'Tags or repositories that failed to mirror.', labelNames: ['task'] as const, registers });
  const last = new Gauge({ name: 'dosync_mirror_last_success_timestamp_seconds', help: 'Unix time the last mirror cycle without errors ended.', labelNames: ['task'] as const, registers });
  return {
    image: (task, result) => images.inc({ task, result }),
    bytes: (task, n) => bytes.inc({ task }, n),
    error: (task) => errors.inc({ task }),
    cycle: (task, ok, at) => {
      if (ok) last.set({ task }, at.getTime() / 1000);
    },
  };
}

export { Registry };
