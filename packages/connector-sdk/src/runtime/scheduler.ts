/**
 * The import daemon's loop: a run, then a wait of CONNECTOR_DURATION_PERIOD, until SIGTERM; runs are skipped
 * while the push queue is over CONNECTOR_QUEUE_THRESHOLD, and a state reset from the UI restarts the run at once.
 */
import type { BaseConfig } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { formatConnectorDate, type OpenCtiClient, type RegisteredConnector } from '../opencti/index.js';
import { sleep } from '../time/index.js';
import type { BoundImport } from './bind.js';
import { ImportRunner, type StateStore } from './import-runner.js';
import type { Metrics } from './metrics.js';
import type { ConnectorPinger } from './pinger.js';
import type { BundleSink } from './sinks.js';

export interface SchedulerInputs<State> {
  connector: BoundImport<State>;
  settings: BaseConfig;
  platform: OpenCtiClient;
  pinger: ConnectorPinger;
  sink: BundleSink;
  registered: RegisteredConnector;
  logger: Logger;
  metrics: Metrics;
  /** SIGTERM: no run starts after it, and the run in hand stops after its current item. */
  shutdown: AbortSignal;
  /** The grace period is over: the item in hand is abandoned. */
  cancel: AbortSignal;
  /** One run, then exit (CONNECTOR_RUN_AND_TERMINATE or a period of 0). */
  runAndTerminate: boolean;
}

/** Resolves with the exit code once stopped (or after the one run of run-and-terminate). */
export async function schedule<State>(inputs: SchedulerInputs<State>): Promise<number> {
  const { connector, settings, platform, pinger, registered, logger, shutdown, cancel, runAndTerminate } = inputs;
  const state: StateStore<State> = {
    load: () => {
      const raw = pinger.state;
      if (raw === null) return null;
      const parsed = connector.state.safeParse(raw);
      if (!parsed.success) {
        logger.warn(
          { state: raw },
          'the saved state does not have the expected shape: starting from the first-run settings',
        );
        return null;
      }
      return parsed.data;
    },
    save: (value) => pinger.setState(value as Record<string, unknown>),
  };
  const runner = new ImportRunner<State>({
    connector,
    updateExistingData: settings.CONNECTOR_UPDATE_EXISTING_DATA,
    platform,
    sink: inputs.sink,
    state,
    logger,
    metrics: inputs.metrics,
    connectorId: registered.id,
    connectorUserId: registered.connector_user_id,
    dryRun: false,
  });
  const periodMs = (settings.CONNECTOR_DURATION_PERIOD ?? 0) * 1000;
  if (!runAndTerminate && periodMs <= 0) {
    throw new ConfigError([
      { variable: 'CONNECTOR_DURATION_PERIOD', message: 'is required for a scheduled import (e.g. PT1H)' },
    ]);
  }

  let wake = new AbortController();
  pinger.on('reset', () => wake.abort(new Error('state reset from the UI')));
  while (!shutdown.aborted) {
    wake = new AbortController();
    const runSignal = AbortSignal.any([shutdown, wake.signal]);
    let ran = false;
    let failed = false;
    if (await isBuffering(platform, pinger, registered.id, settings, logger)) {
      logger.warn(
        { sizeMb: pinger.info.queue_messages_size, thresholdMb: settings.CONNECTOR_QUEUE_THRESHOLD },
        'Connector will not run until the queue messages size is reduced under queue threshold',
      );
    } else {
      // A shutdown lets the step in hand finish (cancelled when the grace period is over); a reset stops it at once.
      const outcome = await runner.run(runSignal, AbortSignal.any([cancel, wake.signal]));
      ran = true;
      failed = outcome.status === 'failed';
      pinger.info.last_run_datetime = formatConnectorDate(new Date());
    }
    if (runAndTerminate) {
      await pinger.ping();
      return ran && !failed ? 0 : ran ? 1 : 0;
    }
    if (wake.signal.aborted && !shutdown.aborted) continue; // reset during the run: start again at once
    pinger.info.next_run_datetime = formatConnectorDate(new Date(Date.now() + periodMs));
    await pinger.ping();
    logger.info({ nextRun: pinger.info.next_run_datetime }, 'next run scheduled');
    // Any period, a month or a year: sleep() waits in steps Node's timers can hold (setTimeout alone fires at
    // once past 24.8 days). A reset from the UI or SIGTERM ends the wait at once.
    await sleep(periodMs, AbortSignal.any([shutdown, wake.signal])).catch(() => undefined);
  }
  return 0;
}

/** Whether the push queue is over the threshold (pycti's buffering); a failed read counts as not. */
async function isBuffering(
  platform: OpenCtiClient,
  pinger: ConnectorPinger,
  connectorId: string,
  settings: BaseConfig,
  logger: Logger,
): Promise<boolean> {
  try {
    const { sizeMb } = await platform.getConnectorQueueSize(connectorId);
    pinger.info.queue_messages_size = sizeMb;
    pinger.info.buffering = sizeMb >= settings.CONNECTOR_QUEUE_THRESHOLD;
  } catch (err) {
    // pycti kills the process here; a connector that cannot read its queue size runs anyway and says so.
    logger.warn({ err }, 'could not read the push queue size: running without the back-pressure check');
    pinger.info.buffering = false;
  }
  return pinger.info.buffering;
}
