/**
 * Runs a connector definition in the test's process, as its image would run it, with the logs captured:
 * the daemon (stopped through an AbortSignal instead of SIGTERM) or a command line (dry runs, --help).
 */
import { randomUUID } from 'node:crypto';
import { type ConnectorDefinition, type RunOptions, runConnector } from '@cti/connector-sdk/internal';

export interface RunningConnector {
  connectorId: string;
  /** Every log line (JSON) and everything printed. */
  logs: string[];
  /** Resolves with the exit code once the daemon stopped. */
  exited: Promise<number>;
  /** Asks the daemon to stop (as SIGTERM does) and resolves with its exit code. */
  stop(): Promise<number>;
  /** Resolves once a log line contains `text`. */
  waitForLog(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts the daemon with `env` (plus a fresh CONNECTOR_ID and debug logs unless given). */
export function startConnector(
  definition: ConnectorDefinition,
  env: Record<string, string>,
  options: Partial<RunOptions> = {},
): RunningConnector {
  const controller = new AbortController();
  const logs: string[] = [];
  const connectorId = env.CONNECTOR_ID ?? randomUUID();
  const exited = runConnector(definition, {
    argv: [],
    env: { CONNECTOR_ID: connectorId, CONNECTOR_LOG_LEVEL: 'debug', ...env },
    dotenvPath: false,
    configFile: false,
    handleSignals: false,
    signal: controller.signal,
    logDestination: { write: (line: string) => logs.push(line) },
    stdout: (t) => void logs.push(t),
    stderr: (t) => void logs.push(t),
    ...options,
  });
  const matches = (text: string | RegExp) => (line: string) =>
    typeof text === 'string' ? line.includes(text) : text.test(line);
  return {
    connectorId,
    logs,
    exited,
    stop: async () => {
      controller.abort();
      return exited;
    },
    waitForLog: (text, timeoutMs = 20_000) =>
      waitUntil(() => logs.some(matches(text)), { timeoutMs, message: `a log line matching ${String(text)}` }),
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The log lines (JSON). */
  logs: string;
}

/** Runs the connector's command line (`enrich <value>`, `import --dry-run`, `--help`) in this process. */
export async function runCli(
  definition: ConnectorDefinition,
  argv: string[],
  env: Record<string, string>,
): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const logs: string[] = [];
  const code = await runConnector(definition, {
    argv,
    env,
    dotenvPath: false,
    configFile: false,
    handleSignals: false,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    logDestination: { write: (l: string) => logs.push(l) },
  });
  return { code, stdout: out.join(''), stderr: err.join(''), logs: logs.join('') };
}

/** Polls `check` every 25 ms until it holds, or rejects after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean,
  options: { timeoutMs?: number; message?: string } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.message ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
