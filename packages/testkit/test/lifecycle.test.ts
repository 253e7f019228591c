/**
 * close() cleans up after itself; HTTP-listen forwarding; waiting helpers.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, TestPlatformError } from '../src/index.js';
import { newConnectorId, RawAmqp, register } from './helpers.js';

let raw: RawAmqp;

beforeAll(async () => {
  raw = await RawAmqp.connect();
});

afterAll(async () => {
  await raw?.close();
});

describe('close()', () => {
  it('deletes the queues of every connector it registered and stops answering', async () => {
    const platform = await startTestPlatform();
    const ids = [newConnectorId(), newConnectorId()];
    for (const id of ids) await register(platform, id);
    for (const id of ids) {
      expect(await raw.queueExists(`listen_${id}`)).toBe(true);
      expect(await raw.queueExists(`push_${id}`)).toBe(true);
    }
    const url = platform.url;
    await platform.close();
    for (const id of ids) {
      expect(await raw.queueExists(`listen_${id}`)).toBe(false);
      expect(await raw.queueExists(`push_${id}`)).toBe(false);
    }
    await expect(fetch(`${url}/graphql`, { method: 'POST', body: '{}' })).rejects.toThrow();
    await platform.close();
    await expect(platform.start()).rejects.toThrow(TestPlatformError);
  });

  it('fails to start with a readable error when the broker is unreachable, without leaking the password', async () => {
    await expect(startTestPlatform({ amqpUrl: 'amqp://guest:hunter2@127.0.0.1:1' })).rejects.toThrow(
      /cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1/,
    );
  });
});

describe('HTTP-listen forwarding', () => {
  it('POSTs listen messages to the registered callback with the token, and acks on 202', async () => {
    const received: Array<{ body: string; auth: string | undefined; ua: string | undefined }> = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        received.push({ body, auth: req.headers.authorization, ua: req.headers['user-agent'] });
        res.writeHead(202).end('{"message":"Message successfully received"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const platform = await startTestPlatform();
    try {
      const id = newConnectorId();
      await register(platform, id, { listen_callback_uri: `http://127.0.0.1:${port}/api/callback` });
      const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '8.8.4.4' });
      const workId = await platform.askEnrichment(id, ip.id);
      const [delivery] = await platform.waitFor(() =>
        platform.worker.callbacks.length > 0 ? platform.worker.callbacks : undefined,
      );
      expect(delivery).toMatchObject({ connectorId: id, status: 202, outcome: 'ack' });
      expect(received).toHaveLength(1);
      expect(JSON.parse(received[0]?.body ?? '{}')).toMatchObject({ internal: { work_id: workId } });
      expect(received[0]?.auth).toBe(`Bearer ${platform.token}`);
      expect(received[0]?.ua).toBe('pycti/6.8.10');
      expect(await platform.queueDepth(id, 'listen')).toBe(0);
    } finally {
      await platform.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("HTTP-listen forwarding: anything but 202 is requeued, as OpenCTI's worker does (listen_handler.py)", () => {
  it('a 503, then a 400, then a 202: the message is POSTed three times and acked only on the 202', async () => {
    const statuses = [503, 400, 202];
    const bodies: string[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(statuses[bodies.length - 1] ?? 202).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const platform = await startTestPlatform({ callbackRetryMs: 50 });
    try {
      const id = newConnectorId();
      await register(platform, id, { listen_callback_uri: `http://127.0.0.1:${port}/api/callback` });
      const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '8.8.4.5' });
      await platform.askEnrichment(id, ip.id);
      const deliveries = await platform.waitFor(() =>
        platform.worker.callbacks.length >= 3 ? platform.worker.callbacks : undefined,
      );
      expect(deliveries.map((d) => [d.status, d.outcome])).toEqual([
        [503, 'requeue'],
        [400, 'requeue'],
        [202, 'ack'],
      ]);
      expect(new Set(bodies).size).toBe(1);
      expect(await platform.queueDepth(id, 'listen')).toBe(0);
    } finally {
      await platform.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('waitFor', () => {
  it('resolves on a platform event and rejects with the message given after the timeout', async () => {
    const platform = await startTestPlatform({ worker: false });
    try {
      const id = newConnectorId();
      const waiting = platform.waitFor(() => platform.connector(id), { timeoutMs: 5_000 });
      await register(platform, id);
      expect((await waiting).id).toBe(id);
      await expect(platform.waitFor(() => false, { timeoutMs: 30, message: 'never true' })).rejects.toThrow(
        'never true (after 30 ms)',
      );
      expect(platform.worker.running).toBe(false);
    } finally {
      await platform.close();
    }
  });
});
