/**
 * Helpers for the runtime's integration tests. The in-process daemon, the fake vendor and polling come
 * from the testkit (connectors use the same ones); what is specific to broker faults lives here.
 */
import { waitUntil } from '../../../src/index.js';
import { brokerConnectionPids, closeConnections } from '../faults/broker.js';

export {
  type FakeVendor,
  type RunningConnector as RunningDaemon,
  startConnector as startDaemon,
  startFakeVendor,
} from '../../../src/index.js';

export function until(check: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  return waitUntil(check, { timeoutMs, message: what });
}

/**
 * Closes, from the broker side, every connection whose client-given name contains `match`
 * (what a broker failover or `rabbitmqctl close_all_connections` does to a connector). Returns how many.
 */
export async function closeBrokerConnections(match: string): Promise<number> {
  return closeConnections(await brokerConnectionPids(match));
}
