import type { StateStore, IntentStep, IntentInput } from './state.js';

/**
 * Records each step of an update in the state file before taking it, so a crash or `kill -9` is recovered
 * at the next start. `DOSYNC_FAULT_CRASH_AFTER=<step>` kills the process right after that step is recorded:
 * the crash-recovery tests use it to stop dosync at each step for real.
 */
export class Journal {
  constructor(private readonly store: StateStore | undefined, private readonly crashAfter = process.env.DOSYNC_FAULT_CRASH_AFTER) {}

  async begin(intent: IntentInput): Promise<void> {
    await this.store?.beginIntent(intent);
    this.maybeCrash(intent.step);
  }

  async advance(step: IntentStep, patch: Partial<Omit<IntentInput, 'service' | 'step'>> = {}): Promise<void> {
    const pending = this.store?.pendingIntent();
    // A rollback stays a rollback until it ends: recovery must never "finish" the update it was undoing.
    if (!pending || pending.step === 'rolling-back') return;
    await this.store!.advanceIntent(step, patch);
    this.maybeCrash(step);
  }

  async end(): Promise<void> {
    if (this.store?.pendingIntent()) await this.store.endIntent();
  }

  private maybeCrash(step: IntentStep): void {
    if (this.crashAfter === step) process.kill(process.pid, 'SIGKILL');
  }
}
