import type { Command } from 'commander';

/**
 * `dosync self-update-helper --record FILE` (hidden): what the short-lived helper container runs when dosync
 * updates its own service (src/sync/self-update.ts). Exit 0 = the new version is healthy, 1 = it was put back.
 */
export function registerSelfUpdateHelperCommand(program: Command): void {
  program
    .command('self-update-helper', { hidden: true })
    .description("recreate dosync's own service on a new image, health-gate it, restore the old one if it fails (started by dosync)")
    .requiredOption('--record <file>', 'the self-update record dosync wrote (in its state dir)')
    .action(async (flags: { record: string }) => {
      const [{ runSelfUpdateHelper }, { loadStack }, { createComposeRuntime, createDocker }, { createLogger }] = await Promise.all([
        import('../sync/self-update.js'), import('../sync/cycle.js'), import('../engine/index.js'), import('../util/logger.js'),
      ]);
      const logger = createLogger({ format: process.env.DOSYNC_LOG_FORMAT === 'pretty' || process.env.DOSYNC_LOG_FORMAT === 'logfmt' ? process.env.DOSYNC_LOG_FORMAT : 'json' });
      const code = await runSelfUpdateHelper(flags.record, {
        runtime: createComposeRuntime(createDocker()), logger, loadStack: async (files, envFiles) => (await loadStack(files, envFiles)).stack,
      });
      // At once: a hung `compose up` the watchdog gave up on must not keep the helper container alive.
      process.exit(code);
    });
}
