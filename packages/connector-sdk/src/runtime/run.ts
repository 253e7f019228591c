/**
 * runConnector: the whole process around a connector definition. main.ts is one line:
 *   runConnector(connector).then((code) => process.exit(code));
 */
import { readFileSync } from 'node:fs';
import {
  type BaseConfig,
  baseConfig,
  type ConfigShape,
  type Env,
  env,
  fieldMeta,
  loadConfig,
  readEnvironment,
  redactConfig,
} from '../config/index.js';
import { ConfigError, CtiError } from '../errors/index.js';
import { closeSharedRateLimits, createHttpClient, type HttpClientOptions } from '../http/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { formatConnectorDate, OpenCtiClient, type RegisteredConnector } from '../opencti/index.js';
import { AmqpSession, type AmqpSessionOptions, BundlePublisher, ListenConsumer } from '../queue/index.js';
import { sleep } from '../time/index.js';
import { SDK_VERSION } from '../version.js';
import { type Command, parseCommand } from './cli.js';
import type { ConnectorDefinition, EnrichmentDefinition, ImportDefinition, SetupContext } from './define.js';
import { EnrichmentProcessor } from './enrichment.js';
import { dryRunEntity, guessEntityType } from './entity.js';
import { ImportRunner, type StateStore } from './import-runner.js';
import { Metrics, startMetricsServer } from './metrics.js';
import { ConnectorPinger } from './pinger.js';
import { ShutdownSequence } from './shutdown.js';
import { AmqpBundleSink, ApiBundleSink, type BundleSink, StdoutBundleSink } from './sinks.js';
import { flushOutput, writeWithBackPressure } from './stdout.js';

export interface RunOptions {
  argv?: readonly string[];
  env?: Env;
  /**
   * Where dry-run output goes (default process.stdout, written with back-pressure and flushed before the
   * run resolves). A returned promise holds the next bundle back until it settles.
   */
  stdout?: (text: string) => void | Promise<void>;
  /** Where configuration errors go (default process.stderr). */
  stderr?: (text: string) => void;
  /** Handle process signals (default true; tests drive shutdown with `signal`). */
  handleSignals?: boolean;
  /** Stops a daemon started by a test. */
  signal?: AbortSignal;
  /** The .env file (default `.env` in the working directory). */
  dotenvPath?: string | false;
  /** Time between two pings (default 40 s, pycti's). */
  pingIntervalMs?: number;
  /** Where log lines go (default stdout; stderr for dry runs). Tests capture them here. */
  logDestination?: { write(line: string): unknown };
}

type AnyConfig = BaseConfig & Record<string, unknown>;

const STARTUP_DEADLINE_MS = 5 * 60_000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How long the work in hand may run on after SIGTERM before it is cancelled and its message requeued. */
const SHUTDOWN_GRACE_MS = 8_000;
/** Beyond the grace period, the time left to record outcomes and close connections before a forced exit. */
const SHUTDOWN_CLOSE_MS = 2_000;
/** The exit code of a dry run stopped by Ctrl-C or SIGTERM before it finished (the shells' 128 + SIGINT). */
const INTERRUPTED_EXIT_CODE = 130;

/** Runs the connector as the command line asks; resolves with the process exit code. */
export async function runConnector(definition: ConnectorDefinition, options: RunOptions = {}): Promise<number> {
  const stdout = options.stdout ?? writeProcessStdout;
  const stderr = options.stderr ?? ((t: string) => void process.stderr.write(t));
  let argv = options.argv ?? process.argv.slice(2);
  let environment = readEnvironment({ env: options.env ?? process.env, dotenvPath: options.dotenvPath });
  if (definition.cli?.rewriteArgs) ({ argv, env: environment } = definition.cli.rewriteArgs(argv, environment));

  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    stderr(`${(err as Error).message}\n\n${usage(definition)}`);
    return 2;
  }
  if (command.kind === 'help') {
    await stdout(`${usage(definition)}\n${settingsHelp(shapeOf(definition))}`);
    if (options.stdout === undefined) await flushProcessStdout();
    return 0;
  }
  if (command.kind === 'version') {
    await stdout(`${definition.slug} ${definition.version ?? SDK_VERSION} (cti-connector-sdk ${SDK_VERSION})\n`);
    if (options.stdout === undefined) await flushProcessStdout();
    return 0;
  }

  const dryRun = command.kind !== 'daemon';
  if (dryRun) {
    // A dry run needs no platform: placeholders stand in for the platform settings left unset.
    environment = {
      OPENCTI_URL: 'http://dry-run.invalid',
      OPENCTI_TOKEN: 'dry-run',
      CONNECTOR_ID: '00000000-0000-4000-8000-000000000000',
      // A dry run is one run: no schedule to require (SpyCloud's period is otherwise mandatory).
      CONNECTOR_DURATION_PERIOD: '0',
      ...environment,
    };
  }

  let config: AnyConfig;
  try {
    config = loadConfig(shapeOf(definition), { env: environment, dotenvPath: false }) as AnyConfig;
    const expectedType = definition.kind === 'enrichment' ? 'INTERNAL_ENRICHMENT' : 'EXTERNAL_IMPORT';
    if (config.CONNECTOR_TYPE && config.CONNECTOR_TYPE !== expectedType) {
      throw new ConfigError([
        { variable: 'CONNECTOR_TYPE', message: `this connector is ${expectedType}, got "${config.CONNECTOR_TYPE}"` },
      ]);
    }
    if (command.kind === 'enrich' && definition.kind !== 'enrichment') {
      throw new ConfigError([{ variable: 'command', message: `${definition.name} imports; use: import --dry-run` }]);
    }
    if (command.kind === 'import' && definition.kind !== 'import') {
      throw new ConfigError([{ variable: 'command', message: `${definition.name} enriches; use: enrich <value>` }]);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      stderr(`${definition.name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }

  const logger = createLogger({
    name: config.CONNECTOR_NAME,
    level: config.CONNECTOR_LOG_LEVEL,
    json: config.OPENCTI_JSON_LOGGING,
    // Dry runs keep stdout for the bundles.
    ...(options.logDestination
      ? { destination: options.logDestination as NodeJS.WritableStream }
      : dryRun
        ? { destination: process.stderr }
        : {}),
  });
  logger.debug({ config: redactConfig(shapeOf(definition), config) }, 'configuration loaded');

  // A stop first stops taking work; vendor calls in hand are cancelled only once the grace period is over.
  const shutdown = new ShutdownSequence();
  if (options.signal) {
    options.signal.addEventListener('abort', () => shutdown.stop(new Error('shutdown requested')), { once: true });
  }
  const onSignal = (sig: NodeJS.Signals) => {
    if (shutdown.requested.aborted) {
      // A second signal, either one, ends the process now; the broker puts back what was not acknowledged.
      logger.warn(`${sig} received again: exiting at once`);
      logger.flush();
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      process.kill(process.pid, sig);
      return;
    }
    logger.info(`${sig} received: shutting down`);
    shutdown.stop(new Error(`${sig} received`));
  };
  if (options.handleSignals ?? true) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  const setupContext: SetupContext<AnyConfig> = {
    config,
    logger,
    signal: shutdown.requested,
    dryRun,
    http: (http: Omit<HttpClientOptions, 'logger' | 'signal'>) =>
      createHttpClient({
        ...http,
        // Replicas of one connector share the vendor's budget through Redis when CONNECTOR_RATE_LIMIT_REDIS_URL is set.
        ...(http.rateLimit
          ? {
              rateLimit: {
                id: `${definition.slug}:${http.vendor}`,
                ...(config.CONNECTOR_RATE_LIMIT_REDIS_URL ? { redisUrl: config.CONNECTOR_RATE_LIMIT_REDIS_URL } : {}),
                ...http.rateLimit,
              },
            }
          : {}),
        logger,
        signal: shutdown.cancelled,
      }),
  };

  try {
    const client = await definition.setup(setupContext as never);
    if (command.kind === 'enrich') {
      const code = await dryRunEnrich(
        definition as EnrichmentDefinition,
        command,
        config,
        client,
        logger,
        stdout,
        shutdown.cancelled,
      );
      if (options.stdout === undefined) await flushProcessStdout();
      return code;
    }
    if (command.kind === 'import') {
      const code = await dryRunImport(
        definition as ImportDefinition,
        command,
        config,
        client,
        logger,
        stdout,
        shutdown,
      );
      if (options.stdout === undefined) await flushProcessStdout();
      return code;
    }
    return await daemon(definition, config, client, logger, shutdown, options.pingIntervalMs);
  } catch (err) {
    if (err instanceof ConfigError) {
      stderr(`${definition.name}: ${err.message}\n`);
      return 1;
    }
    // SIGTERM while still starting (waiting for OpenCTI, fetching a token): the wait it cut short is not a
    // failure, the stop is a normal one.
    if (shutdown.requested.aborted && causedBy(err, shutdown.requested.reason)) {
      logger.info('stopped before start-up completed');
      return 0;
    }
    logger.fatal({ err }, err instanceof CtiError ? err.message : 'the connector stopped on an unexpected error');
    return 1;
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    await closeSharedRateLimits();
    logger.flush();
  }
}

/** Whether `reason` (an abort signal's reason) is `err` or somewhere in its chain of causes. */
function causedBy(err: unknown, reason: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    if (current === reason) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function writeProcessStdout(text: string): Promise<void> | undefined {
  return writeWithBackPressure(process.stdout, text);
}

/** main.ts ends with process.exit, which would drop what a pipe's reader had not taken yet. */
function flushProcessStdout(): Promise<void> {
  return flushOutput(process.stdout);
}

/** The full settings shape: base, then the definition's defaults for name and scope, then its own. */
export function shapeOf(definition: ConnectorDefinition): ConfigShape {
  return {
    ...baseConfig,
    CONNECTOR_NAME: env.string({ minLength: 2, default: definition.name, description: 'The name shown in OpenCTI' }),
    CONNECTOR_SCOPE: env.list({
      default: [...(definition.scope ?? [])],
      description: 'Comma-separated entity types (or MIME types) the connector handles',
    }),
    ...definition.config,
  };
}

function usage(definition: ConnectorDefinition): string {
  const lines = [
    `${definition.name} connector (${definition.kind === 'enrichment' ? 'internal enrichment' : 'external import'})`,
    '',
    'Usage:',
    '  node dist/main.js                  run the connector (settings from the environment and .env)',
  ];
  if (definition.kind === 'enrichment') {
    lines.push('  node dist/main.js enrich <value> [--type <OpenCTI type>] [--tlp <TLP>]');
    lines.push('                                     print the enrichment bundle; needs no OpenCTI');
  } else {
    lines.push("  node dist/main.js import --dry-run [--state '<json>']");
    lines.push("                                     print one run's bundles as NDJSON; saves no state");
  }
  lines.push('  node dist/main.js --help | --version');
  if (definition.cli?.help) lines.push('', definition.cli.help);
  return `${lines.join('\n')}\n`;
}

function settingsHelp(shape: ConfigShape): string {
  const lines = ['Settings (environment variables):'];
  for (const [name, schema] of Object.entries(shape)) {
    const meta = fieldMeta(schema);
    const bits = [
      meta.secret ? 'secret' : null,
      meta.defaultText !== undefined && meta.defaultText !== '' ? `default ${meta.defaultText}` : null,
      meta.aliases?.length ? `also ${meta.aliases.join(', ')}` : null,
    ].filter(Boolean);
    lines.push(
      `  ${name}${bits.length ? ` (${bits.join('; ')})` : ''}${meta.description ? `: ${meta.description}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function dryRunEnrich(
  definition: EnrichmentDefinition,
  command: Extract<Command, { kind: 'enrich' }>,
  config: AnyConfig,
  client: unknown,
  logger: Logger,
  stdout: (t: string) => void | Promise<void>,
  signal: AbortSignal,
): Promise<number> {
  const entity = dryRunEntity(command.value, command.type ?? guessEntityType(command.value), command.tlp ?? undefined);
  const sink = new StdoutBundleSink(stdout, false);
  let failed = false;
  const processor = new EnrichmentProcessor({
    definition: definition as never,
    config,
    client,
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
    scope: config.CONNECTOR_SCOPE,
    maxTlp: definition.maxTlp(config as never),
    connectorUserId: null,
    shutdown: signal,
  });
  const body = Buffer.from(
    JSON.stringify({
      internal: { work_id: 'dry-run', applicant_id: null },
      event: { entity_id: entity.id, entity_type: entity.entityType, stix_entity: JSON.stringify(entity.stix) },
    }),
  );
  // 'requeue' means the enrichment did not finish: cut by Ctrl-C, or its output could not be written.
  if ((await processor.handle(body, false)) === 'requeue') {
    if (!signal.aborted) return 1;
    // No "null" either: that would say the vendor knows nothing of the value.
    logger.warn(`interrupted before the enrichment of ${command.value} finished`);
    return INTERRUPTED_EXIT_CODE;
  }
  if (sink.sent === 0 && !failed) await stdout('null\n');
  return failed ? 1 : 0;
}

async function dryRunImport(
  definition: ImportDefinition,
  command: Extract<Command, { kind: 'import' }>,
  config: AnyConfig,
  client: unknown,
  logger: Logger,
  stdout: (t: string) => void | Promise<void>,
  stopping: ShutdownSequence,
): Promise<number> {
  let state: unknown = null;
  if (command.state) {
    try {
      state = definition.state.parse(JSON.parse(command.state));
    } catch (err) {
      throw new ConfigError([{ variable: '--state', message: `not a valid state: ${(err as Error).message}` }]);
    }
  }
  const runner = new ImportRunner({
    definition: definition as never,
    config,
    client,
    platform: null,
    sink: new StdoutBundleSink(stdout, true),
    state: { load: () => state, save: async () => undefined },
    logger,
    metrics: new Metrics(),
    connectorId: config.CONNECTOR_ID,
    connectorUserId: null,
    dryRun: true,
  });
  const outcome = await runner.run(stopping.requested, stopping.cancelled);
  if (outcome.status === 'interrupted') return INTERRUPTED_EXIT_CODE;
  return outcome.status === 'processed' ? 0 : 1;
}

/** AMQP settings: what registration advertised, overridden by MQ_* as pycti does. */
function amqpOptions(
  registered: RegisteredConnector,
  config: AnyConfig,
  logger: Logger,
  connectionName: string,
): AmqpSessionOptions {
  const c = registered.config.connection;
  const pem = (value: string | undefined, variable: string) => {
    if (value === undefined || value.trim().startsWith('-----BEGIN')) return value;
    try {
      return readFileSync(value, 'utf8');
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // The value is not shown: MQ_USE_SSL_KEY is a secret, and may be a key pasted without its PEM header.
      throw new ConfigError(
        [{ variable, message: `is neither PEM text nor a readable file (${String(code ?? 'unreadable')})` }],
        { cause: err },
      );
    }
  };
  return {
    hostname: config.MQ_HOST ?? c.host,
    port: config.MQ_PORT ?? c.port,
    vhost: config.MQ_VHOST ?? c.vhost,
    username: config.MQ_USER ?? c.user,
    password: config.MQ_PASS ?? c.pass,
    useSsl: config.MQ_USE_SSL ?? c.use_ssl,
    ca: pem(config.MQ_USE_SSL_CA, 'MQ_USE_SSL_CA'),
    cert: pem(config.MQ_USE_SSL_CERT, 'MQ_USE_SSL_CERT'),
    key: pem(config.MQ_USE_SSL_KEY, 'MQ_USE_SSL_KEY'),
    passphrase: config.MQ_USE_SSL_PASSPHRASE,
    rejectUnauthorized: config.MQ_USE_SSL_REJECT_UNAUTHORIZED,
    connectionName,
    logger,
  };
}

async function daemon(
  definition: ConnectorDefinition,
  config: AnyConfig,
  client: unknown,
  logger: Logger,
  stopping: ShutdownSequence,
  pingIntervalMs: number | undefined,
): Promise<number> {
  const shutdown = stopping.requested;
  const metrics = new Metrics();
  const isEnrichment = definition.kind === 'enrichment';
  if (!UUID_PATTERN.test(config.CONNECTOR_ID)) {
    // Accepted as pycti accepts it (Scout's documented compose uses a name), but two instances left with the
    // same copied text would share one connector, its queue and its state in OpenCTI.
    logger.warn(
      { connectorId: config.CONNECTOR_ID },
      `CONNECTOR_ID "${config.CONNECTOR_ID}" is not a UUID: OpenCTI documents a UUIDv4 unique to each connector instance; it is used as given`,
    );
  }
  const platform = new OpenCtiClient({
    url: config.OPENCTI_URL,
    token: config.OPENCTI_TOKEN,
    sslVerify: config.OPENCTI_SSL_VERIFY,
    customHeaders: config.OPENCTI_CUSTOM_HEADERS ?? {},
    userAgent: `cti-connector-sdk/${SDK_VERSION} (${definition.slug})`,
    logger,
  });

  const about = await platform.waitUntilReachable({ deadlineMs: STARTUP_DEADLINE_MS, signal: shutdown });
  if (shutdown.aborted) return 0;
  logger.info({ version: about.version, url: config.OPENCTI_URL }, 'OpenCTI is reachable');

  const register = () =>
    platform.registerConnector(
      {
        id: config.CONNECTOR_ID,
        name: config.CONNECTOR_NAME,
        type: isEnrichment ? 'INTERNAL_ENRICHMENT' : 'EXTERNAL_IMPORT',
        scope: config.CONNECTOR_SCOPE,
        auto: config.CONNECTOR_AUTO,
        auto_update: config.CONNECTOR_AUTO_UPDATE,
        enrichment_resolution: config.CONNECTOR_ENRICHMENT_RESOLUTION,
        only_contextual: config.CONNECTOR_ONLY_CONTEXTUAL,
        playbook_compatible: isEnrichment ? (definition.playbookCompatible ?? false) : false,
        version: definition.version ?? null,
        slug: definition.slug,
      },
      { deadlineMs: STARTUP_DEADLINE_MS, signal: shutdown },
    );
  const registered = await register();
  logger.info(
    {
      connectorId: registered.id,
      scope: config.CONNECTOR_SCOPE,
      type: isEnrichment ? 'INTERNAL_ENRICHMENT' : 'EXTERNAL_IMPORT',
    },
    'connector registered',
  );

  const runAndTerminate =
    !isEnrichment && (config.CONNECTOR_RUN_AND_TERMINATE || config.CONNECTOR_DURATION_PERIOD === 0);
  const pinger = new ConnectorPinger({
    platform,
    connectorId: registered.id,
    initialState: registered.connector_state,
    info: {
      run_and_terminate: runAndTerminate,
      buffering: false,
      queue_threshold: config.CONNECTOR_QUEUE_THRESHOLD,
      queue_messages_size: 0,
      next_run_datetime: null,
      last_run_datetime: null,
    },
    logger,
    metrics,
    ...(pingIntervalMs ? { intervalMs: pingIntervalMs } : {}),
  });
  await pinger.ping();
  if (!runAndTerminate) pinger.start();

  const sessions: AmqpSession[] = [];
  let sink: BundleSink;
  if (config.CONNECTOR_QUEUE_PROTOCOL === 'api') {
    sink = new ApiBundleSink(platform, registered.id, metrics);
  } else {
    const pushSession = new AmqpSession(amqpOptions(registered, config, logger, `${config.CONNECTOR_NAME} push`));
    sessions.push(pushSession);
    const publisher = new BundlePublisher(pushSession, {
      exchange: registered.config.push_exchange,
      routingKey: registered.config.push_routing,
      logger,
    });
    sink = new AmqpBundleSink(platform, publisher, metrics);
  }

  let consumer: ListenConsumer | null = null;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | null = null;
  let schedulerAlive = false;
  if (config.CONNECTOR_EXPOSE_METRICS) {
    metricsServer = await startMetricsServer(config.CONNECTOR_METRICS_PORT, metrics, () => ({
      alive: !shutdown.aborted,
      registered: true,
      consuming: isEnrichment ? (consumer?.isConsuming() ?? false) : schedulerAlive,
      lastPing: pinger.lastPingAt?.toISOString() ?? null,
      state: metrics.state,
    })).catch(async (err: unknown) => {
      // The process is about to exit 1 on the setting: nothing started so far may keep it alive.
      pinger.stop();
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
    if (isEnrichment) {
      const listenSession = new AmqpSession(amqpOptions(registered, config, logger, `${config.CONNECTOR_NAME} listen`));
      sessions.push(listenSession);
      const processor = new EnrichmentProcessor({
        definition: definition as never,
        config,
        client,
        platform: {
          workToReceived: (w, m) => platform.workToReceived(w, m),
          workToProcessed: (w, m, e) => platform.workToProcessed(w, m, e),
          workPing: (w) => platform.workPing(w),
          workStatus: (w) => platform.workStatus(w),
          health: () => platform.health(),
          readEntity: async (id, opts) => (await platform.readEntity(id, opts))?.raw ?? null,
          playbookStepExecution: (v) => platform.playbookStepExecution(v),
        },
        sink,
        logger,
        metrics,
        scope: config.CONNECTOR_SCOPE,
        maxTlp: definition.maxTlp(config as never),
        connectorUserId: registered.connector_user_id,
        shutdown: stopping.cancelled,
      });
      consumer = new ListenConsumer(listenSession, {
        queue: registered.config.listen,
        prefetch: config.CONNECTOR_PREFETCH,
        onMessage: (delivery) => processor.handle(delivery.body, delivery.redelivered),
        logger,
      });
      consumer.on('queue-missing', () => {
        logger.warn('the listen queue is gone: registering again, which re-creates it');
        register().catch((err: unknown) => logger.error({ err }, 'registration failed'));
      });
      await consumer.start();
      logger.info(
        { queue: registered.config.listen, prefetch: config.CONNECTOR_PREFETCH },
        'listening for enrichment requests',
      );
      metrics.setState('idle');
      await waitForAbort(shutdown);
    } else {
      schedulerAlive = true;
      exitCode = await schedule(
        definition,
        config,
        client,
        platform,
        pinger,
        sink,
        registered,
        logger,
        metrics,
        shutdown,
        stopping.cancelled,
        runAndTerminate,
      );
    }
  } finally {
    schedulerAlive = false;
    armHardStop();
    metrics.setState('stopped');
    // Running enrichments finish within what is left of the grace period, or their messages go back to the queue.
    await consumer?.stop({ graceMs: stopping.graceLeftMs() });
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

async function schedule(
  definition: ImportDefinition,
  config: AnyConfig,
  client: unknown,
  platform: OpenCtiClient,
  pinger: ConnectorPinger,
  sink: BundleSink,
  registered: RegisteredConnector,
  logger: Logger,
  metrics: Metrics,
  shutdown: AbortSignal,
  cancel: AbortSignal,
  runAndTerminate: boolean,
): Promise<number> {
  const state: StateStore<unknown> = {
    load: () => {
      const raw = pinger.state;
      if (raw === null) return null;
      const parsed = definition.state.safeParse(raw);
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
  const runner = new ImportRunner({
    definition: definition as never,
    config,
    client,
    platform,
    sink,
    state,
    logger,
    metrics,
    connectorId: registered.id,
    connectorUserId: registered.connector_user_id,
    dryRun: false,
  });
  const periodMs = (config.CONNECTOR_DURATION_PERIOD ?? 0) * 1000;
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
    if (await isBuffering(platform, pinger, registered.id, config, logger)) {
      logger.warn(
        { sizeMb: pinger.info.queue_messages_size, thresholdMb: config.CONNECTOR_QUEUE_THRESHOLD },
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

async function isBuffering(
  platform: OpenCtiClient,
  pinger: ConnectorPinger,
  connectorId: string,
  config: AnyConfig,
  logger: Logger,
): Promise<boolean> {
  try {
    const { sizeMb } = await platform.getConnectorQueueSize(connectorId);
    pinger.info.queue_messages_size = sizeMb;
    pinger.info.buffering = sizeMb >= config.CONNECTOR_QUEUE_THRESHOLD;
  } catch (err) {
    // pycti kills the process here; a connector that cannot read its queue size runs anyway and says so.
    logger.warn({ err }, 'could not read the push queue size: running without the back-pressure check');
    pinger.info.buffering = false;
  }
  return pinger.info.buffering;
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
