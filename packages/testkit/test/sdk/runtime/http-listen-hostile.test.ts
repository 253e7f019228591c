/**
 * The HTTP listen endpoint against a hostile caller on raw sockets, through the in-process daemon on the
 * stand-in platform: sockets that never send a request, bodies that never finish, lies about their length,
 * encoded bodies, pipelined requests and token variants. What must hold: every request is answered (or its
 * socket closed) within bounded time, nothing is answered 202 without being processed, the daemon keeps
 * serving, and the token never appears in the logs.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../../src/index.js';
import { echoConnector } from './echo-connector.js';
import { type FakeVendor, type RunningDaemon, startDaemon, startFakeVendor, until } from './helpers.js';

const VENDOR_KEY = 'vendor-key-0123456789-SECRET';
let platform: TestPlatform;
let vendor: FakeVendor;
let daemon: RunningDaemon | null = null;

beforeAll(async () => {
  platform = await startTestPlatform({ callbackRetryMs: 200 });
  vendor = await startFakeVendor({ 'GET /lookup/:ip': () => ({ body: { verdict: 'malicious' } }) });
});
afterEach(async () => {
  await daemon?.stop();
  daemon = null;
  vendor.requests.length = 0;
});
afterAll(async () => {
  await vendor?.close();
  await platform?.close();
});

async function start(extraEnv: Record<string, string> = {}): Promise<{ d: RunningDaemon; port: number }> {
  daemon = startDaemon(echoConnector(vendor.url), {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    ECHO_KEY: VENDOR_KEY,
    CONNECTOR_ID: randomUUID(),
    CONNECTOR_LISTEN_PROTOCOL: 'API',
    CONNECTOR_LISTEN_PROTOCOL_API_PORT: '0',
    ...extraEnv,
  });
  await daemon.waitForLog('listening for enrichment requests', 30_000);
  const uri = platform.connector(daemon.connectorId)?.registrations.at(-1)?.input.listen_callback_uri;
  if (typeof uri !== 'string') throw new Error('no listen_callback_uri');
  return { d: daemon, port: Number(new URL(uri).port) };
}

interface RawExchange {
  socket: Socket;
  /** Everything the server sent. */
  received(): string;
  /** Resolves once the server closed the connection (or `ms` passed: false). */
  closed(ms: number): Promise<boolean>;
}

/** A raw TCP connection to the endpoint, writing `parts` as given. */
function raw(port: number, ...parts: Array<string | Buffer>): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let ended = false;
    const waiters: Array<() => void> = [];
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      ended = true;
      for (const w of waiters.splice(0)) w();
    });
    socket.once('connect', () => {
      for (const p of parts) socket.write(p);
      resolve({
        socket,
        received: () => data,
        closed: (ms) =>
          ended
            ? Promise.resolve(true)
            : new Promise<boolean>((r) => {
                const t = setTimeout(() => r(false), ms);
                waiters.push(() => {
                  clearTimeout(t);
                  r(true);
                });
              }),
      });
    });
    socket.once('error', reject);
  });
}

function head(token: string, length: number, extra = ''): string {
  return `POST /api/callback HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;
}

function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
}

describe('HTTP listen against a hostile caller', () => {
  it('slowloris: connections that send no request, or only part of its headers, are closed; the endpoint still serves', async () => {
    const { port } = await start();
    const silent = await Promise.all(Array.from({ length: 20 }, () => raw(port)));
    const trickled = await raw(port, 'POST /api/callback HTTP/1.1\r\nHost: x\r\n');
    // The server's limit is 10 s; the margin holds with a busy core.
    const closed = await Promise.all([...silent, trickled].map((x) => x.closed(40_000)));
    expect(closed.every(Boolean)).toBe(true);
    const genuine = await raw(port, head(platform.token, 2), '{}');
    await until(() => statuses(genuine.received()).length > 0, 10_000, 'an answer');
    expect(statuses(genuine.received())).toEqual([202]);
    genuine.socket.destroy();
  }, 90_000);

  it('a body shorter than its Content-Length: answered 408 and closed, its slot freed for the next message', async () => {
    const { d, port } = await start({ CONNECTOR_PREFETCH: '1' });
    const liar = await raw(port, head(platform.token, 1_000), '{"internal":');
    expect(await liar.closed(40_000)).toBe(true);
    expect(statuses(liar.received())).toEqual([408]);
    expect(liar.received()).toContain('did not arrive in time');
    const genuine = await raw(port, head(platform.token, 2), '{}');
    await until(() => statuses(genuine.received()).length > 0, 10_000, 'an answer');
    expect(statuses(genuine.received())).toEqual([202]);
    genuine.socket.destroy();
    expect(d.logs.join('\n')).not.toContain(platform.token);
  }, 90_000);

  it('a body trickled a byte at a time keeps its slot no longer than the body limit allows: 408, then served', async () => {
    const { port } = await start({ CONNECTOR_PREFETCH: '1' });
    const trickle = await raw(port, head(platform.token, 100_000), '{');
    const timer = setInterval(() => trickle.socket.write(' '), 2_000);
    try {
      expect(await trickle.closed(90_000)).toBe(true);
    } finally {
      clearInterval(timer);
    }
    expect(statuses(trickle.received())).toEqual([408]);
    const genuine = await raw(port, head(platform.token, 2), '{}');
    await until(() => statuses(genuine.received()).length > 0, 10_000, 'an answer');
    expect(statuses(genuine.received())).toEqual([202]);
    genuine.socket.destroy();
  }, 150_000);

  it('SIGTERM with requests waiting for a slot: each is answered 503 (the worker requeues it), none 202', async () => {
    const { d, port } = await start({ CONNECTOR_PREFETCH: '1' });
    // The first request holds the only slot while its body is still on its way.
    const holder = await raw(port, head(platform.token, 100), '{');
    const waiting = await Promise.all(Array.from({ length: 5 }, () => raw(port, head(platform.token, 2), '{}')));
    await new Promise((r) => setTimeout(r, 500));
    expect(waiting.every((w) => w.received() === '')).toBe(true);
    await d.stop();
    daemon = null;
    await Promise.all(waiting.map((w) => w.closed(20_000)));
    expect(waiting.map((w) => statuses(w.received()))).toEqual(Array.from({ length: 5 }, () => [503]));
    holder.socket.destroy();
  }, 60_000);

  it('valid JSON that is no message (array, number, deep nesting, __proto__), gzip, pipelining: answered, daemon serves', async () => {
    const { port } = await start();
    const tok = platform.token;
    const gz = gzipSync(Buffer.from('{"a":1}'));
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const proto = '{"__proto__":{"polluted":1},"internal":{"work_id":null},"event":{"__proto__":{"entity_id":"x"}}}';
    const cases: Array<[Array<string | Buffer>, number[]]> = [
      [[head(tok, gz.length, 'Content-Encoding: gzip\r\n'), gz], [400]],
      [[`${head(tok, 5)}[1,2]${head(tok, 2)}42`], [202, 202]],
      [[head(tok, deep.length), deep], [202]],
      [[head(tok, proto.length), proto], [202]],
      [[`POST /api/callback?token=${tok} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`], [401]],
      [
        [
          `POST /api/callback HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok.slice(0, -1)}\r\nContent-Length: 2\r\n\r\n{}`,
        ],
        [401],
      ],
      [
        [
          `POST /api/callback HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(40_000)}\r\nContent-Length: 2\r\n\r\n{}`,
        ],
        [431],
      ],
    ];
    for (const [parts, expected] of cases) {
      const x = await raw(port, ...parts);
      await until(() => statuses(x.received()).length >= expected.length, 20_000, 'the answers');
      expect(statuses(x.received())).toEqual(expected);
      x.socket.destroy();
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 90_000);
});
