/**
 * The response cap against a real local server that answers too much: a declared huge body, an endless
 * chunked body without Content-Length, a gzip bomb, a huge error page. The client must stop reading as
 * soon as the cap is passed (the server sees the connection close), report the vendor and the size, and
 * never retry such an answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamApiError } from '../errors/index.js';
import { createHttpClientWith, DEFAULT_MAX_RESPONSE_BYTES, type HttpRuntime } from './client.js';

import type { HttpClient, HttpClientOptions } from './types.js';

const MiB = 1024 * 1024;
const runtime: HttpRuntime = { now: () => Date.now(), sleep: async () => undefined, random: () => 0, env: {} };

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
/** Bytes the server managed to hand to the socket for the last answer, and whether the client hung up. */
let written = 0;
let requests = 0;
let hungUp: Promise<void> = Promise.resolve();

const server = http.createServer((req, res) => {
  requests++;
  written = 0;
  hungUp = new Promise((resolve) => res.on('close', () => resolve()));
  handler(req, res);
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const clients: HttpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  requests = 0;
});

function client(options: Partial<HttpClientOptions> = {}): HttpClient {
  const c = createHttpClientWith(
    {
      vendor: 'CrowdSec',
      baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      proxy: false,
      retry: { maxAttempts: 3 },
      timeoutMs: 20_000,
      ...options,
    },
    runtime,
  );
  clients.push(c);
  return c;
}

/** Writes `chunk` again and again while the client reads, up to `total` bytes (or for ever). */
function stream(res: http.ServerResponse, chunk: Buffer, total = Number.POSITIVE_INFINITY): void {
  const pump = (): void => {
    while (written < total && !res.destroyed) {
      const piece = chunk.subarray(0, Math.min(chunk.length, total - written));
      written += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  res.on('error', () => undefined);
  pump();
}

async function failure(promise: Promise<unknown>): Promise<UpstreamApiError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamApiError);
  return err as UpstreamApiError;
}

const filler = Buffer.alloc(64 * 1024, 'a');

describe('the response cap', () => {
  it('refuses a body whose Content-Length exceeds the cap before reading it, and says how large it was', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(120 * MiB) });
      stream(res, filler, 120 * MiB);
    };
    const err = await failure(client({ maxResponseBytes: 2 * MiB }).get('/v2/smoke/1.2.3.4'));
    await hungUp;
    expect(err.reason).toBe('too-large');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^CrowdSec API answered GET .*\/v2\/smoke\/1\.2\.3\.4 \(status 200\)/);
    expect(err.message).toContain('larger than the 2 MiB accepted (Content-Length 120 MiB)');
    expect(requests).toBe(1);
    // What the kernel's socket buffers took before the client hung up (up to tens of MiB on loopback): the
    // rest of the 120 MiB was never sent.
    expect(written).toBeLessThan(60 * MiB);
  });

  it('stops an endless chunked body without Content-Length as soon as the cap is passed', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      stream(res, filler);
    };
    const err = await failure(client({ maxResponseBytes: MiB, maxResponseSetting: 'CROWDSEC_MAX' }).get('/endless'));
    await hungUp;
    expect(err.reason).toBe('too-large');
    expect(err.message).toMatch(/larger than the 1 MiB accepted \(the download was stopped after 1(\.\d)? MiB\)/);
    expect(err.message).toContain('raise CROWDSEC_MAX if answers this large are expected');
    expect(requests).toBe(1);
    expect(written).toBeLessThan(60 * MiB);
  });

  it('counts decompressed bytes: a gzip bomb is stopped at the cap, not inflated whole', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * MiB, '{'), { level: 9 });
    expect(bomb.length).toBeLessThan(MiB / 4);
    handler = (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': String(bomb.length),
      });
      res.end(bomb);
    };
    const err = await failure(client({ maxResponseBytes: MiB }).get('/bomb'));
    expect(err.reason).toBe('too-large');
    expect(err.message).toMatch(/larger than the 1 MiB accepted \(the download was stopped after 1/);
    expect(requests).toBe(1);
  });

  it('accepts a body of exactly the cap, compressed or not', async () => {
    const body = JSON.stringify({ data: 'x'.repeat(MiB - 11) });
    expect(Buffer.byteLength(body)).toBe(MiB);
    handler = (req, res) => {
      if (req.url === '/gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(body));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      }
    };
    const c = client({ maxResponseBytes: MiB });
    for (const path of ['/plain', '/gzip']) {
      const res = await c.get<{ data: string }>(path);
      expect(res.data.data.length).toBe(MiB - 11);
    }
  });

  it('keeps a huge error page an HTTP error: read up to 64 KiB for the detail, retried as the status says', async () => {
    handler = (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.write('<html><head><title>Down for maintenance</title></head><body>');
      stream(res, filler, 50 * MiB);
    };
    const err = await failure(client({ maxResponseBytes: MiB }).get('/down'));
    expect(err.status).toBe(503);
    expect(err.reason).toBe('http');
    expect(err.message).toContain('"Down for maintenance"');
    expect(err.message).toContain('after 3 attempts');
    expect(requests).toBe(3);
  });

  it('defaults to a few MiB, and refuses a cap that is not a positive integer', () => {
    expect(DEFAULT_MAX_RESPONSE_BYTES).toBe(8 * MiB);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => client({ maxResponseBytes: bad })).toThrow(/maxResponseBytes must be a positive integer/);
    }
  });
});

describe('a download: responseType bytes and a cap of its own', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x7f, 0x80]);

  it('returns the body as the bytes sent, however little of it is text', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(png);
    };
    const res = await client().get<Buffer>('/screenshot.png', { responseType: 'bytes' });
    expect(Buffer.isBuffer(res.data)).toBe(true);
    expect(res.data.equals(png)).toBe(true);
  });

  it("stops at the request's lower cap, naming the request's setting, and never retries", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      stream(res, filler);
    };
    const c = client({ maxResponseBytes: 32 * MiB, maxResponseSetting: 'CLIENT_CAP' });
    const err = await failure(
      c.get('/huge.png', { responseType: 'bytes', maxResponseBytes: MiB, maxResponseSetting: 'SCREENSHOT_MAX' }),
    );
    await hungUp;
    expect(err.reason).toBe('too-large');
    expect(err.message).toMatch(/larger than the 1 MiB accepted/);
    expect(err.message).toContain('raise SCREENSHOT_MAX');
    expect(requests).toBe(1);
    expect(written).toBeLessThan(60 * MiB);
  });

  it("never raises the client's cap, and refuses a cap that is not a positive integer", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      stream(res, filler, 2 * MiB);
    };
    const c = client({ maxResponseBytes: MiB, maxResponseSetting: 'CLIENT_CAP' });
    const err = await failure(c.get('/big.png', { responseType: 'bytes', maxResponseBytes: 64 * MiB }));
    expect(err.message).toMatch(/larger than the 1 MiB accepted/);
    expect(err.message).toContain('raise CLIENT_CAP');
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(c.get('/x', { responseType: 'bytes', maxResponseBytes: bad })).rejects.toThrow(
        /maxResponseBytes must be a positive integer/,
      );
    }
  });
});
