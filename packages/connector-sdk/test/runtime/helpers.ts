/**
 * Helpers for the runtime's integration tests: a fake vendor that counts requests, log capture, and an
 * in-process daemon driven by an AbortSignal.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectorDefinition } from '../../src/runtime/define.js';
import { type RunOptions, runConnector } from '../../src/runtime/run.js';

export interface FakeVendor {
  url: string;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>;
  close(): Promise<void>;
}

export async function startFakeVendor(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): Promise<FakeVendor> {
  const requests: FakeVendor['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RunningDaemon {
  connectorId: string;
  logs: string[];
  /** Resolves with the exit code once the daemon stopped. */
  exited: Promise<number>;
  stop(): Promise<number>;
}

/** Starts a connector daemon in this process, logging JSON lines into `logs`. */
export function startDaemon(
  definition: ConnectorDefinition,
  env: Record<string, string>,
  options: Partial<RunOptions> = {},
): RunningDaemon {
  const controller = new AbortController();
  const logs: string[] = [];
  const connectorId = env.CONNECTOR_ID ?? randomUUID();
  const exited = runConnector(definition, {
    argv: [],
    env: { CONNECTOR_ID: connectorId, CONNECTOR_LOG_LEVEL: 'debug', ...env },
    dotenvPath: false,
    handleSignals: false,
    signal: controller.signal,
    logDestination: { write: (line: string) => void logs.push(line) },
    stdout: (t) => void logs.push(t),
    stderr: (t) => void logs.push(t),
    ...options,
  });
  return {
    connectorId,
    logs,
    exited,
    stop: async () => {
      controller.abort();
      return exited;
    },
  };
}

export async function until(check: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Closes, from the broker side, every connection whose client-given name contains `match`
 * (what a broker failover or `rabbitmqctl close_all_connections` does to a connector). Returns how many.
 */
export async function closeBrokerConnections(match: string): Promise<number> {
  const { execFile } = await import('node:child_process');
  const run = (args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile('rabbitmqctl', args, { timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
  const listing = await run(['-q', 'list_connections', 'pid', 'client_properties']);
  const pids = listing
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","`) && line.includes(match))
    .map((line) => line.split('\t')[0] ?? '')
    .filter((pid) => pid.startsWith('<'));
  for (const pid of pids) await run(['-q', 'close_connection', pid, 'test: broker closed the connection']);
  return pids.length;
}
