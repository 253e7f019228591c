/**
 * The daemon around a bound connector: wait for OpenCTI, register, ping, open the push path (RabbitMQ or
 * the API), serve metrics and /health, then listen (enrichment) or schedule runs (import) until a stop,
 * which lets the work in hand finish for a grace period before everything is closed.
 */
import type { BaseConfig } from '../config/index.js';
import { ConfigError, DeliveryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { OpenCtiClient } from '../opencti/index.js';
import { AmqpSession, BundlePublisher, type ListenConsumer } from '../queue/index.js';
import { SDK_VERSION } from '../version.js';
import { amqpOptions } from './amqp-options.js';
import type { BoundConnector } from './bind.js';
import { DirectoryOutput } from './delivery/directory.js';
import { DeliverySink } from './delivery/sink.js';
import { HttpListener } from './http-listener.js';
import { enrichmentProcessor, listenConsumer } from './listen.js';
import { listenEndpoint } from './listen-endpoint.js';
import { httpListenHandler } from './listen-http.js';
import { Metrics, startMetricsServer } from './metrics.js';
import { ConnectorPinger } from './pinger.js';
import { schedule } from './scheduler.js';
import type { ShutdownSequence } from './shutdown.js';
import { AmqpBundleSink, ApiBundleSink, type BundleSink } from './sinks.js';

const STARTUP_DEADLINE_MS = 5 * 60_000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How long the work in hand may run on after SIGTERM before it is cancelled and its message requeued. */
const SHUTDOWN_GRACE_MS = 8_000;
/** Beyond the grace period, the time left to record outcomes and close connections before a forced exit. */
const SHUTDOWN_CLOSE_MS = 2_000;
/** Of that time, how long HTTP-listen messages cut by the end of the grace period have to report it on their works. */
const HTTP_LISTEN_SETTLE_MS = 1_500;

export interface DaemonInputs<State> {
  connector: BoundConnector<State>;
  settings: BaseConfig;
  logger: Logger;
  stopping: ShutdownSequence;
  /** Time between two pings (default 40 s, pycti's). */
  pingIntervalMs: number | undefined;
}

/** Resolves with the exit code once stopped. */
export async function daemon<State>({
  connector,
  settings,
  logger,
  stopping,
  pingIntervalMs,
}: DaemonInputs<State>): Promise<number> {
  const shutdown = stopping.requested;
  const metrics = new Metrics();
  const isEnrichment = connector.kind === 'enrichment';
  const type = isEnrichment ? 'INTERNAL_ENRICHMENT' : 'EXTERNAL_IMPORT';
  // An import has no listen queue: the listen protocol is an enrichment's setting (a bad one stops it now).
  const endpoint = isEnrichment && settings.CONNECTOR_LISTEN_PROTOCOL === 'API' ? listenEndpoint(settings) : null;
  if (!UUID_PATTERN.test(settings.CONNECTOR_ID)) {
    // Accepted as pycti accepts it (Scout's documented compose uses a name), but two instances left with the
    // same copied text would share one connector, its queue and its state in OpenCTI.
    logger.warn(
      { connectorId: settings.CONNECTOR_ID },
      `CONNECTOR_ID "${settings.CONNECTOR_ID}" is not a UUID: OpenCTI documents a UUIDv4 unique to each connector instance; it is used as given`,
    );
  }
  if (
    !isEnrichment &&
    settings.CONNECTOR_VALIDATE_BEFORE_IMPORT &&
    settings.CONNECTOR_VALIDATION_MODE === 'draft' &&
    settings.CONNECTOR_SEND_TO_QUEUE &&
    settings.CONNECTOR_QUEUE_PROTOCOL === 'api'
  ) {
    // Every bundle of every run would be refused: said once, at start-up.
    throw new ConfigError([
      {
        variable: 'CONNECTOR_VALIDATION_MODE',
        message:
          "draft needs CONNECTOR_QUEUE_PROTOCOL=amqp: OpenCTI's stixBundlePush (api) cannot send into a draft; use workbench or amqp",
      },
    ]);
  }
  // Checked before anything else: an unusable directory is a setting to fix, not something to wait for.
  const directory = settings.CONNECTOR_SEND_TO_DIRECTORY ? await openDirectory(settings, type, logger) : null;
  if (!settings.CONNECTOR_SEND_TO_QUEUE && directory === null && !settings.CONNECTOR_VALIDATE_BEFORE_IMPORT) {
    logger.warn(
      'CONNECTOR_SEND_TO_QUEUE is false and CONNECTOR_SEND_TO_DIRECTORY is not set: bundles are sent nowhere',
    );
  }
  const platform = new OpenCtiClient({
    url: settings.OPENCTI_URL,
    token: settings.OPENCTI_TOKEN,
    sslVerify: settings.OPENCTI_SSL_VERIFY,
    customHeaders: settings.OPENCTI_CUSTOM_HEADERS ?? {},
    userAgent: `cti-connector-sdk/${SDK_VERSION} (${connector.slug})`,
    logger,
  });

  const about = await platform.waitUntilReachable({ deadlineMs: STARTUP_DEADLINE_MS, signal: shutdown });
  if (shutdown.aborted) return 0;
  logger.info({ version: about.version, url: settings.OPENCTI_URL }, 'OpenCTI is reachable');

  // The endpoint is bound before registering: the URI registered carries the port in use, and the platform
  // may POST as soon as it knows it (answered 503, hence requeued, until the connector is ready).
  const httpListener = endpoint
    ? new HttpListener({ endpoint, token: settings.OPENCTI_TOKEN, concurrency: settings.CONNECTOR_PREFETCH, logger })
    : null;
  const callbackUri = httpListener && endpoint ? endpoint.callbackUri(await httpListener.listen()) : null;
  const register = () =>
    platform.registerConnector(
      {
        id: settings.CONNECTOR_ID,
        name: settings.CONNECTOR_NAME,
        type,
        scope: settings.CONNECTOR_SCOPE,
        auto: settings.CONNECTOR_AUTO,
        auto_update: settings.CONNECTOR_AUTO_UPDATE,
        enrichment_resolution: settings.CONNECTOR_ENRICHMENT_RESOLUTION,
        only_contextual: settings.CONNECTOR_ONLY_CONTEXTUAL,
        playbook_compatible: connector.kind === 'enrichment' ? connector.playbookCompatible : false,
        version: connector.version ?? null,
        slug: connector.slug,
        listen_callback_uri: callbackUri,
      },
      { deadlineMs: STARTUP_DEADLINE_MS, signal: shutdown },
    );
  const registered = await register().catch((err: unknown) => {
    httpListener?.close();
    throw err;
  });
  logger.info({ connectorId: registered.id, scope: settings.CONNECTOR_SCOPE, type }, 'connector registered');

  const runAndTerminate =
    !isEnrichment && (settings.CONNECTOR_RUN_AND_TERMINATE || settings.CONNECTOR_DURATION_PERIOD === 0);
  const pinger = new ConnectorPinger({
    platform,
    connectorId: registered.id,
    initialState: registered.connector_state,
    info: {
      run_and_terminate: runAndTerminate,
      buffering: false,
      queue_threshold: settings.CONNECTOR_QUEUE_THRESHOLD,
      queue_messages_size: 0,
      next_run_datetime: null,
      last_run_datetime: null,
    },
    logger,
    metrics,
    ...(pingIntervalMs ? { intervalMs: pingIntervalMs } : {}),
  });
  // pycti's PingAlive thread pings beside the listening, not before it: an enricher connects to the broker
  // while its first ping is in flight (one round trip to the platform less before it consumes). An importer
  // waits for it: the ping may carry a reset of the state its first run starts from. A failed ping is logged
  // by the pinger and does not stop the start, either way.
  const firstPing = pinger.ping();
  if (!isEnrichment) await firstPing;
  if (!runAndTerminate) pinger.start();

  const sessions: AmqpSession[] = [];
  let queue: BundleSink | null;
  if (!settings.CONNECTOR_SEND_TO_QUEUE) {
    queue = null;
  } else if (settings.CONNECTOR_QUEUE_PROTOCOL === 'api') {
    queue = new ApiBundleSink(platform, registered.id, metrics);
  } else {
    const pushSession = new AmqpSession(amqpOptions(registered, settings, logger, `${settings.CONNECTOR_NAME} push`));
    sessions.push(pushSession);
    const publisher = new BundlePublisher(pushSession, {
      exchange: registered.config.push_exchange,
      routingKey: registered.config.push_routing,
      logger,
    });
    queue = new AmqpBundleSink(platform, publisher, metrics);
  }
  const sink: BundleSink = new DeliverySink({
    queue,
    queueCarriesDrafts: settings.CONNECTOR_QUEUE_PROTOCOL !== 'api',
    review: platform,
    validateBeforeImport: settings.CONNECTOR_VALIDATE_BEFORE_IMPORT,
    defaultValidationMode: settings.CONNECTOR_VALIDATION_MODE,
    directory,
    logger,
  });

  let consumer: ListenConsumer | null = null;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | null = null;
  let schedulerAlive = false;
  if (settings.CONNECTOR_EXPOSE_METRICS) {
    metricsServer = await startMetricsServer(settings.CONNECTOR_METRICS_PORT, metrics, () => ({
      alive: !shutdown.aborted,
      registered: true,
      consuming: isEnrichment ? (consumer?.isConsuming() ?? httpListener?.isConsuming() ?? false) : schedulerAlive,
      lastPing: pinger.lastPingAt?.toISOString() ?? null,
      state: metrics.state,
    })).catch(async (err: unknown) => {
      // The process is about to exit 1 on the setting: nothing started so far may keep it alive.
      pinger.stop();
      httpListener?.close();
      await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
      throw err;
    });
    logger.info({ port: metricsServer.port }, 'metrics and /health served');
  }

  let exitCode = 0;
  // From here on, a stop lets the enrichments or the import step in hand finish for the grace period.
  stopping.protectInFlight(SHUTDOWN_GRACE_MS);
  // Whatever hangs after a stop (a platform that no longer answers while works are closed), the process
  // ends shortly after the grace period: counted from the stop, not from when the run gave up.
  let hardStop: NodeJS.Timeout | undefined;
  const armHardStop = () => {
    hardStop ??= setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      logger.flush();
      process.exit(exitCode);
    }, stopping.graceLeftMs() + SHUTDOWN_CLOSE_MS);
    hardStop.unref();
  };
  if (shutdown.aborted) armHardStop();
  else shutdown.addEventListener('abort', armHardStop, { once: true });
  try {
    if (connector.kind === 'enrichment' && httpListener) {
      const processor = enrichmentProcessor({
        connector,
        settings,
        platform,
        registered,
        sink,
        logger,
        metrics,
        cancelled: stopping.cancelled,
      });
      httpListener.accept(httpListenHandler(processor, stopping.cancelled));
      await firstPing;
      logger.info(
        { protocol: 'API', port: httpListener.port, callbackUri, prefetch: settings.CONNECTOR_PREFETCH },
        'listening for enrichment requests',
      );
      metrics.setState('idle');
      await waitForAbort(shutdown);
    } else if (connector.kind === 'enrichment') {
      const session = new AmqpSession(amqpOptions(registered, settings, logger, `${settings.CONNECTOR_NAME} listen`));
      sessions.push(session);
      consumer = listenConsumer({
        connector,
        settings,
        session,
        platform,
        registered,
        register,
        sink,
        logger,
        metrics,
        cancelled: stopping.cancelled,
      });
      await Promise.all([consumer.start(), firstPing]);
      logger.info(
        { queue: registered.config.listen, prefetch: settings.CONNECTOR_PREFETCH },
        'listening for enrichment requests',
      );
      metrics.setState('idle');
      await waitForAbort(shutdown);
    } else {
      schedulerAlive = true;
      exitCode = await schedule({
        connector,
        settings,
        platform,
        pinger,
        sink,
        registered,
        logger,
        metrics,
        shutdown,
        cancel: stopping.cancelled,
        runAndTerminate,
      });
    }
  } finally {
    schedulerAlive = false;
    armHardStop();
    metrics.setState('stopped');
    // Running enrichments finish within what is left of the grace period, or their messages go back to the queue.
    await consumer?.stop({ graceMs: stopping.graceLeftMs() });
    if (httpListener) {
      // Requests not yet accepted are answered 503 (the platform requeues them); accepted ones run on.
      httpListener.stopAccepting();
      const drained = await httpListener.drain(stopping.graceLeftMs());
      stopping.cancelNow(new Error('the connector stopped'));
      // Those cut by the end of the grace period report it on their works.
      if (!drained) await httpListener.drain(HTTP_LISTEN_SETTLE_MS);
      httpListener.close();
    }
    stopping.cancelNow(new Error('the connector stopped'));
    pinger.stop();
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
    await metricsServer?.close();
    clearTimeout(hardStop);
    shutdown.removeEventListener('abort', armHardStop);
    logger.info('stopped');
  }
  return exitCode;
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** CONNECTOR_SEND_TO_DIRECTORY's directory, checked writable; a problem is a ConfigError naming the setting. */
async function openDirectory(settings: BaseConfig, type: string, logger: Logger): Promise<DirectoryOutput> {
  const path = settings.CONNECTOR_SEND_TO_DIRECTORY_PATH;
  if (path === undefined) {
    throw new ConfigError([
      { variable: 'CONNECTOR_SEND_TO_DIRECTORY_PATH', message: 'is required when CONNECTOR_SEND_TO_DIRECTORY is true' },
    ]);
  }
  try {
    const output = await DirectoryOutput.open({
      path,
      retentionDays: settings.CONNECTOR_SEND_TO_DIRECTORY_RETENTION,
      connector: {
        id: settings.CONNECTOR_ID,
        name: settings.CONNECTOR_NAME,
        type,
        scope: settings.CONNECTOR_SCOPE.join(','),
        auto: settings.CONNECTOR_AUTO,
        validateBeforeImport: settings.CONNECTOR_VALIDATE_BEFORE_IMPORT,
      },
      logger,
    });
    logger.info(
      {
        directory: path,
        retentionDays: settings.CONNECTOR_SEND_TO_DIRECTORY_RETENTION,
        alsoQueuing: settings.CONNECTOR_SEND_TO_QUEUE,
      },
      'bundles are written to a directory',
    );
    return output;
  } catch (err) {
    if (!DeliveryError.is(err)) throw err;
    throw new ConfigError([{ variable: err.setting, message: err.message.replace(`${err.setting}: `, '') }], {
      cause: err,
    });
  }
}
