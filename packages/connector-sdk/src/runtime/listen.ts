/**
 * The enrichment daemon's consumer: listen-queue messages handed to the enrichment processor, acked or
 * requeued by its outcome; a deleted listen queue is re-created by registering again. The processor is
 * built here for both listen protocols (listen-http.ts hands it the messages the platform POSTs).
 */
import type { BaseConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { OpenCtiClient, RegisteredConnector } from '../opencti/index.js';
import { type AmqpSession, ListenConsumer } from '../queue/index.js';
import type { BoundEnrichment } from './bind.js';
import { EnrichmentProcessor } from './enrichment.js';
import type { Metrics } from './metrics.js';
import type { BundleSink } from './sinks.js';

export interface ProcessorInputs {
  connector: BoundEnrichment;
  settings: BaseConfig;
  platform: OpenCtiClient;
  registered: RegisteredConnector;
  sink: BundleSink;
  logger: Logger;
  metrics: Metrics;
  /** The grace period after SIGTERM is over: enrichments in hand are abandoned, their messages requeued. */
  cancelled: AbortSignal;
}

export interface ListenInputs extends ProcessorInputs {
  session: AmqpSession;
  /** Registers again (the platform re-creates the connector's queues). */
  register: () => Promise<unknown>;
}

/** The enrichment processor both listen protocols hand their messages to. */
export function enrichmentProcessor(inputs: ProcessorInputs): EnrichmentProcessor {
  const { connector, settings, platform, registered, logger } = inputs;
  return new EnrichmentProcessor({
    connector,
    confidence: settings.CONNECTOR_CONFIDENCE_LEVEL,
    updateExistingData: settings.CONNECTOR_UPDATE_EXISTING_DATA,
    platform: {
      workToReceived: (w, m) => platform.workToReceived(w, m),
      workToProcessed: (w, m, e) => platform.workToProcessed(w, m, e),
      workPing: (w) => platform.workPing(w),
      workStatus: (w) => platform.workStatus(w),
      health: () => platform.health(),
      readEntity: async (id, opts) => (await platform.readEntity(id, opts))?.raw ?? null,
      playbookStepExecution: (v) => platform.playbookStepExecution(v),
    },
    sink: inputs.sink,
    logger,
    metrics: inputs.metrics,
    scope: settings.CONNECTOR_SCOPE,
    connectorUserId: registered.connector_user_id,
    shutdown: inputs.cancelled,
  });
}

/** The consumer, not started yet: the daemon starts it, and stops it whatever happens. */
export function listenConsumer(inputs: ListenInputs): ListenConsumer {
  const { settings, registered, logger } = inputs;
  const processor = enrichmentProcessor(inputs);
  const consumer = new ListenConsumer(inputs.session, {
    queue: registered.config.listen,
    prefetch: settings.CONNECTOR_PREFETCH,
    onMessage: (delivery) => processor.handle(delivery.body, delivery.redelivered),
    logger,
  });
  consumer.on('queue-missing', () => {
    logger.warn('the listen queue is gone: registering again, which re-creates it');
    inputs.register().catch((err: unknown) => logger.error({ err }, 'registration failed'));
  });
  return consumer;
}
