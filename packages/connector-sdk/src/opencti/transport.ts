/**
 * The `fetch` graphql-request uses to reach OpenCTI, built on node:http/https.
 *
 * Why not the global fetch: TLS settings (OPENCTI_SSL_VERIFY=false, a CA bundle) need an undici
 * dispatcher, and the `undici` package is not a dependency of the SDK; node:https takes them directly.
 * This one place also knows whether a failed request ever reached the server, which the retry policy
 * needs for calls that must not run twice (see failure.ts).
 *
 * Proxies: the agents are built with `proxyEnv: process.env`, so HTTP_PROXY / HTTPS_PROXY / NO_PROXY
 * apply as they do for pycti's `requests` (Node >= 22.21 / 24.5; older Node ignores the option).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../errors/index.js';
import { closeStaleSockets, trackIdleSockets } from '../http/keep-alive.js';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * A transport failure. `connected` tells whether a connection to the server (or to the proxy) was
 * established, i.e. whether request bytes may have left: when false, the server provably did not
 * receive the request.
 */
export class TransportError extends Error {
  readonly code: string;
  readonly connected: boolean;

  constructor(message: string, details: { code: string; connected: boolean }, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.code = details.code;
    this.connected = details.connected;
  }
}

/** The abort reason the client uses for its per-request timer. */
export class RequestTimeout extends Error {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`no answer within ${formatSeconds(timeoutMs)}`);
    this.name = 'RequestTimeout';
    this.timeoutMs = timeoutMs;
  }
}

/** TLS settings derived from OPENCTI_SSL_VERIFY. */
export interface TlsSettings {
  rejectUnauthorized: boolean;
  /** Trusted CAs: the system store plus the configured bundle (absent: Node's default store). */
  ca?: string[];
}

/**
 * OPENCTI_SSL_VERIFY as pycti's `requests` reads it: false skips verification (pycti's default), true
 * verifies against the system store, a string is a CA bundle path. The bundle is *added* to the system
 * store (requests would use it alone), so a platform behind a public certificate keeps working when an
 * admin adds an internal CA.
 */
export function resolveTlsSettings(sslVerify: boolean | string | undefined): TlsSettings {
  if (sslVerify === undefined || sslVerify === false) return { rejectUnauthorized: false };
  if (sslVerify === true) return { rejectUnauthorized: true };
  const text = sslVerify.trim();
  const asBoolean = parseBooleanText(text);
  if (asBoolean !== undefined) return resolveTlsSettings(asBoolean);
  let pem: string;
  try {
    pem = readFileSync(text, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      [{ variable: 'OPENCTI_SSL_VERIFY', message: `cannot read the CA bundle ${text}: ${errorCode(cause)}` }],
      { cause },
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError([
      { variable: 'OPENCTI_SSL_VERIFY', message: `${text} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` },
    ]);
  }
  return { rejectUnauthorized: true, ca: [...rootCertificates, pem] };
}

function parseBooleanText(text: string): boolean | undefined {
  const lower = text.toLowerCase();
  if (['true', '1', 'yes', 'y', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'n', 'off', ''].includes(lower)) return false;
  return undefined;
}

export interface NodeTransport {
  fetch: FetchLike;
  /** Closes idle keep-alive connections. */
  close(): void;
}

/** A fetch over keep-alive node:http/https agents. Timeouts come from the caller's AbortSignal. */
export function createNodeTransport(tlsSettings: TlsSettings): NodeTransport {
  // `proxyEnv` is recent in @types/node; typed here so older typings still compile.
  const common: http.AgentOptions & { proxyEnv?: NodeJS.ProcessEnv } = { keepAlive: true, proxyEnv: process.env };
  const httpAgent = trackIdleSockets(new http.Agent(common));
  const httpsOptions: https.AgentOptions = { ...common, rejectUnauthorized: tlsSettings.rejectUnauthorized };
  if (tlsSettings.ca) httpsOptions.ca = tlsSettings.ca;
  const httpsAgent = trackIdleSockets(new https.Agent(httpsOptions));

  const fetchImpl: FetchLike = (input, init) => {
    const url = input instanceof URL ? input : new URL(typeof input === 'string' ? input : input.url);
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') {
      return Promise.reject(
        new TransportError(`unsupported protocol ${url.protocol}`, { code: 'EPROTO', connected: false }),
      );
    }
    return send(url, init ?? {}, isHttps ? https.request : http.request, isHttps ? httpsAgent : httpAgent, isHttps);
  };

  return {
    fetch: fetchImpl,
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

type RequestFn = (
  url: URL,
  options: http.RequestOptions,
  callback: (res: http.IncomingMessage) => void,
) => http.ClientRequest;

function send(url: URL, init: RequestInit, request: RequestFn, agent: http.Agent, isHttps: boolean): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const signal = init.signal ?? undefined;
    let connected = false;
    let settled = false;

    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(toTransportError(err, connected, signal));
    };

    // A pooled socket the platform closed while this process was busy must not carry the request.
    closeStaleSockets(agent);
    const req = request(url, { method: init.method ?? 'GET', headers: toHeaderRecord(init.headers), agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        try {
          resolve(toResponse(res, Buffer.concat(chunks)));
        } catch (err) {
          reject(
            new TransportError(`unusable HTTP answer: ${errorCode(err)}`, { code: 'EBADRESPONSE', connected: true }),
          );
        }
      });
    });

    req.on('socket', (socket) => {
      // A pooled keep-alive socket is already connected; a new one reports when the handshake is done.
      if (!socket.connecting) connected = true;
      else socket.once(isHttps ? 'secureConnect' : 'connect', () => (connected = true));
    });
    req.on('error', fail);

    const onAbort = (): void => {
      const reason: unknown = signal?.reason;
      req.destroy(reason instanceof Error ? reason : new Error('aborted'));
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const body = init.body;
    if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
    else if (body === undefined || body === null) req.end();
    else fail(new TypeError('the OpenCTI transport sends string bodies only'));
  });
}

function toTransportError(err: unknown, connected: boolean, signal: AbortSignal | undefined): TransportError {
  if (err instanceof TransportError) return err;
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  if (reason instanceof RequestTimeout || err instanceof RequestTimeout) {
    const timeout = reason instanceof RequestTimeout ? reason : (err as RequestTimeout);
    return new TransportError(timeout.message, { code: 'ETIMEDOUT', connected }, { cause: timeout });
  }
  if (signal?.aborted) return new TransportError('request aborted', { code: 'ABORTED', connected }, { cause: reason });
  const code = errorCode(err);
  return new TransportError(code, { code, connected }, { cause: err });
}

function toResponse(res: http.IncomingMessage, body: Buffer): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const status = res.statusCode ?? 0;
  const nullBody = status === 204 || status === 205 || status === 304 || body.length === 0;
  return new Response(nullBody ? null : body, { status, statusText: res.statusMessage ?? '', headers });
}

function toHeaderRecord(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** A Node system error code ("ECONNREFUSED"), or the error's message. */
export function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string' && message !== '') return message;
  }
  return String(err);
}

export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(seconds < 1 ? 2 : 1)}s`;
}
