/** Broker-side views and actions for the fault suites (rabbitmqctl, as an operator would use it). */
import { execFile } from 'node:child_process';

function rabbitmqctl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('rabbitmqctl', ['-q', ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`rabbitmqctl ${args[0]} failed: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

/** Pids of the connections whose client-given name contains `match`. */
export async function brokerConnectionPids(match: string): Promise<string[]> {
  const listing = await rabbitmqctl(['list_connections', 'pid', 'client_properties']);
  return listing
    .split('\n')
    .filter((line) => line.includes('{"connection_name","') && line.includes(match))
    .map((line) => line.split('\t')[0] ?? '')
    .filter((pid) => pid.startsWith('<'));
}

/** Closes those connections from the broker side; returns how many were closed. */
export async function closeConnections(pids: readonly string[]): Promise<number> {
  let closed = 0;
  for (const pid of pids) {
    await rabbitmqctl(['close_connection', pid, 'fault suite: broker closed the connection']);
    closed++;
  }
  return closed;
}

/** A broker user of its own, so a test can look for its password in every output. Delete it after. */
export async function addBrokerUser(user: string, password: string): Promise<void> {
  await rabbitmqctl(['add_user', user, password]);
  await rabbitmqctl(['set_permissions', '-p', '/', user, '.*', '.*', '.*']);
}

export async function deleteBrokerUser(user: string): Promise<void> {
  await rabbitmqctl(['delete_user', user]).catch(() => undefined);
}

export interface QueueState {
  ready: number;
  unacked: number;
  consumers: number;
}

/** A queue as the broker sees it: messages ready, delivered but not acked, and consumers. */
export async function queueState(queue: string): Promise<QueueState> {
  const listing = await rabbitmqctl(['list_queues', 'name', 'messages_ready', 'messages_unacknowledged', 'consumers']);
  const cells =
    listing
      .split('\n')
      .find((l) => l.split('\t')[0] === queue)
      ?.split('\t') ?? [];
  return { ready: Number(cells[1] ?? 0), unacked: Number(cells[2] ?? 0), consumers: Number(cells[3] ?? 0) };
}

/** Consumers subscribed to `queue`, as the broker counts them. */
export async function queueConsumers(queue: string): Promise<number> {
  return (await queueState(queue)).consumers;
}

/** Polls `check` (which may call the broker) every 100 ms, at most `attempts` times. */
export async function pollUntil(check: () => Promise<boolean>, attempts: number, what: string): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The broker user of each connection whose client-given name contains `match`. */
export async function brokerConnectionUsers(match: string): Promise<string[]> {
  const listing = await rabbitmqctl(['list_connections', 'user', 'client_properties']);
  return listing
    .split('\n')
    .filter((line) => line.includes('{"connection_name","') && line.includes(match))
    .map((line) => line.split('\t')[0] ?? '');
}
