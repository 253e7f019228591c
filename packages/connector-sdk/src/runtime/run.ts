/**
 * runConnector: the whole process around a connector definition. main.ts is one line:
 *   runConnector(connector).then((code) => process.exit(code));
 * It reads the command line, loads the settings, binds the definition to them and to its vendor client,
 * then runs a dry run or the daemon, and owns the signals and the exit code.
 */
import type { ConfigFile, ConfigShape, Env } from '../config/index.js';
import {
  CONFIG_FILE_NAME,
  ignoredFileKeys,
  locateConfigFile,
  readConfigFile,
  readEnvironment,
  redactConfig,
} from '../config/index.js';
import { ConfigError, CtiError } from '../errors/index.js';
import { closeSharedRateLimits } from '../http/index.js';
import { createLogger } from '../log/index.js';
import { bindEnrichment, bindImport } from './bind.js';
import { type Command, parseCommand } from './cli.js';
import type { ConnectorDefinition } from './define.js';
import { helpText, usage, versionText } from './help.js';
import { loadSettings, type Settings, shapeOf } from './settings.js';
import { setupContext } from './setup-context.js';
import { ShutdownSequence } from './shutdown.js';
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
  /**
   * config.yml: by default the one next to the entry point or in its parent folder (`dist/config.yml`, else
   * the connector's folder), as pycti's connectors find theirs; a path; false to read none.
   */
  configFile?: string | false;
  /** Time between two pings (default 40 s, pycti's). */
  pingIntervalMs?: number;
  /** Where log lines go (default stdout; stderr for dry runs). Tests capture them here. */
  logDestination?: { write(line: string): unknown };
}

/** Runs the connector as the command line asks; resolves with the process exit code. */
export async function runConnector<S extends ConfigShape, Client, State>(
  definition: ConnectorDefinition<S, Client, State>,
  options: RunOptions = {},
): Promise<number> {
  const stdout = options.stdout ?? writeProcessStdout;
  const stderr = options.stderr ?? ((t: string) => void process.stderr.write(t));
  // main.ts ends with process.exit, which would drop what a pipe's reader had not taken yet.
  const flushed = async (code: number): Promise<number> => {
    if (options.stdout === undefined) await flushOutput(process.stdout);
    return code;
  };
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
  if (command.kind === 'help' || command.kind === 'version') {
    await stdout(command.kind === 'help' ? helpText(definition) : versionText(definition));
    return flushed(0);
  }

  let settings: Settings<S>;
  let file: ConfigFile | undefined;
  try {
    const entryPoint = process.argv[1];
    const path =
      options.configFile === undefined
        ? entryPoint === undefined
          ? undefined
          : locateConfigFile(entryPoint)
        : options.configFile || undefined;
    file = path === undefined ? undefined : readConfigFile(path);
    settings = loadSettings(definition, command, environment, file);
  } catch (err) {
    if (err instanceof ConfigError) {
      stderr(`${definition.name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const { base } = settings;

  const dryRun = command.kind !== 'daemon';
  const logger = createLogger({
    name: base.CONNECTOR_NAME,
    level: base.CONNECTOR_LOG_LEVEL,
    json: base.OPENCTI_JSON_LOGGING,
    // Dry runs keep stdout for the bundles.
    ...(options.logDestination
      ? { destination: options.logDestination as NodeJS.WritableStream }
      : dryRun
        ? { destination: process.stderr }
        : {}),
  });
  if (file) {
    logger.info({ file: file.path }, `settings read from ${CONFIG_FILE_NAME}; environment variables override it`);
    for (const key of ignoredFileKeys(shapeOf(definition), file)) {
      logger.warn(
        { file: file.path, key },
        `${CONFIG_FILE_NAME}: ${key} is read by pycti, not by this connector: ignored`,
      );
    }
  }
  logger.debug({ config: redactConfig(shapeOf(definition), base) }, 'configuration loaded');

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

  const setup = setupContext({ slug: definition.slug, config: settings.connector, base, logger, shutdown, dryRun });
  const output = { logger, stdout };
  const daemonInputs = { settings: base, logger, stopping: shutdown, pingIntervalMs: options.pingIntervalMs };
  try {
    // loadSettings refused a dry run of the other kind: `enrich` reaches only an enrichment, `import` an import.
    if (definition.kind === 'enrichment') {
      const connector = await bindEnrichment(definition, setup);
      if (command.kind !== 'enrich') return await (await loadDaemon())({ connector, ...daemonInputs });
      const { dryRunEnrich } = await import('./dry-run-enrich.js');
      return await flushed(await dryRunEnrich(connector, command, base, output, shutdown.cancelled));
    }
    const connector = await bindImport(definition, setup);
    if (command.kind !== 'import') return await (await loadDaemon())({ connector, ...daemonInputs });
    const { dryRunImport } = await import('./dry-run-import.js');
    return await flushed(await dryRunImport(connector, command, base, output, shutdown));
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

/**
 * The daemon (OpenCTI client, RabbitMQ, metrics) and each dry run are loaded only by the command that runs
 * them: `--help`, `--version` and a configuration error load neither, a dry run does not load the broker's
 * client, a daemon does not load the dry runs (docs/performance.md, "Start-up and idle memory").
 */
async function loadDaemon() {
  return (await import('./daemon.js')).daemon;
}
