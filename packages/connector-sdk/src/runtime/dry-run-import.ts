/**
 * `main.js import --dry-run [--state '<json>']`: one import run with its bundles printed as NDJSON, from the
 * given state or a first run, saving nothing. Needs no platform.
 */
import type { BaseConfig } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import type { BoundImport } from './bind.js';
import type { Command } from './cli.js';
import { type DryRunOutput, INTERRUPTED_EXIT_CODE } from './dry-run-enrich.js';
import { ImportRunner } from './import-runner.js';
import { Metrics } from './metrics.js';
import type { ShutdownSequence } from './shutdown.js';
import { StdoutBundleSink } from './sinks.js';

/** Resolves with the exit code: 0 processed, 1 failed, 130 interrupted; a bad --state is a ConfigError. */
export async function dryRunImport<State>(
  connector: BoundImport<State>,
  command: Extract<Command, { kind: 'import' }>,
  settings: BaseConfig,
  { logger, stdout }: DryRunOutput,
  stopping: ShutdownSequence,
): Promise<number> {
  let state: State | null = null;
  if (command.state) {
    try {
      state = connector.state.parse(JSON.parse(command.state));
    } catch (err) {
      throw new ConfigError([{ variable: '--state', message: `not a valid state: ${(err as Error).message}` }]);
    }
  }
  const runner = new ImportRunner<State>({
    connector,
    updateExistingData: settings.CONNECTOR_UPDATE_EXISTING_DATA,
    platform: null,
    sink: new StdoutBundleSink(stdout, true),
    state: { load: () => state, save: async () => undefined },
    logger,
    metrics: new Metrics(),
    connectorId: settings.CONNECTOR_ID,
    connectorUserId: null,
    dryRun: true,
  });
  const outcome = await runner.run(stopping.requested, stopping.cancelled);
  if (outcome.status === 'interrupted') return INTERRUPTED_EXIT_CODE;
  return outcome.status === 'processed' ? 0 : 1;
}
