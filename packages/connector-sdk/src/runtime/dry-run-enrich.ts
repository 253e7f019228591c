/**
 * `main.js enrich <value>`: one enrichment of a made-up entity, through the same processor as the daemon,
 * with the bundle printed instead of sent and the work's outcome logged. Needs no platform.
 */
import type { BaseConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { BoundEnrichment } from './bind.js';
import type { Command } from './cli.js';
import { EnrichmentProcessor } from './enrichment.js';
import { dryRunEntity, guessEntityType } from './entity.js';
import { Metrics } from './metrics.js';
import { StdoutBundleSink } from './sinks.js';

/** The exit code of a dry run stopped by Ctrl-C or SIGTERM before it finished (the shells' 128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

export interface DryRunOutput {
  logger: Logger;
  stdout: (text: string) => void | Promise<void>;
}

/** Resolves with the exit code: 0 enriched (or nothing known: "null"), 1 failed, 130 interrupted. */
export async function dryRunEnrich(
  connector: BoundEnrichment,
  command: Extract<Command, { kind: 'enrich' }>,
  settings: BaseConfig,
  { logger, stdout }: DryRunOutput,
  cancelled: AbortSignal,
): Promise<number> {
  const entity = dryRunEntity(command.value, command.type ?? guessEntityType(command.value), command.tlp ?? undefined);
  const sink = new StdoutBundleSink(stdout, false);
  let failed = false;
  const processor = new EnrichmentProcessor({
    connector,
    confidence: settings.CONNECTOR_CONFIDENCE_LEVEL,
    updateExistingData: settings.CONNECTOR_UPDATE_EXISTING_DATA,
    platform: {
      workToReceived: async () => undefined,
      workToProcessed: async (_work, message, inError) => {
        failed = inError;
        (inError ? logger.error.bind(logger) : logger.info.bind(logger))(message);
      },
      workPing: async () => undefined,
      readEntity: async () => entity.raw,
      playbookStepExecution: async () => undefined,
    },
    sink,
    logger,
    metrics: new Metrics(),
    scope: settings.CONNECTOR_SCOPE,
    connectorUserId: null,
    shutdown: cancelled,
  });
  const body = Buffer.from(
    JSON.stringify({
      internal: { work_id: 'dry-run', applicant_id: null },
      event: { entity_id: entity.id, entity_type: entity.entityType, stix_entity: JSON.stringify(entity.stix) },
    }),
  );
  // 'requeue' means the enrichment did not finish: cut by Ctrl-C, or its output could not be written.
  if ((await processor.handle(body, false)) === 'requeue') {
    if (!cancelled.aborted) return 1;
    // No "null" either: that would say the vendor knows nothing of the value.
    logger.warn(`interrupted before the enrichment of ${command.value} finished`);
    return INTERRUPTED_EXIT_CODE;
  }
  if (sink.sent === 0 && !failed) await stdout('null\n');
  return failed ? 1 : 0;
}
