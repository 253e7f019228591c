/**
 * Helpers for the runtime's integration tests. The in-process daemon, the fake vendor and polling come
 * from the testkit (connectors use the same ones); what is specific to broker faults lives here.
 */
import { waitUntil } from '@cti/connector-testkit';

export {
  type FakeVendor,
  type RunningConnector as RunningDaemon,
  startConnector as startDaemon,
  startFakeVendor,
} from '@cti/connector-testkit';

export function until(check: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  return waitUntil(check, { timeoutMs, message: what });
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
