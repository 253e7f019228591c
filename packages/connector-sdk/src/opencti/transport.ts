/**
 * The HTTP client of the OpenCTI client, on node:http/https, answering plain objects.
 *
 * Why not the global fetch, nor WHATWG Headers/Response: touching any of them makes Node load its bundled
 * fetch implementation (undici), about 7.5 MB of idle RSS in every daemon (measured on Node 24); and TLS
 * settings (OPENCTI_SSL_VERIFY=false, a CA bundle) would need an undici dispatcher, while node:https takes
 * them directly. This one place also knows whether a failed request ever reached the server, which the
 * retry policy needs for calls that must not run twice (see failure.ts).
 *
 * Proxies: the agents are built with `proxyEnv: process.env`, so HTTP_PROXY / HTTPS_PROXY / NO_PROXY
 * apply as they do for pycti's `requests` (Node >= 22.21 / 24.5; older Node ignores the option).
 */
import { constants as bufferConstants } from 'node:buffer';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../errors/index.js';
import { closeStaleSockets, trackIdleSockets } from '../http/keep-alive.js';

/** One request: header names as given (node:http matches them case-insensitively). */
export interface HttpRequest {
  method: string;
  headers: Readonly<Record<string, string>>;
  body: string | Uint8Array;
  /** Aborts the request; its reason (a RequestTimeout for the client's timer) is kept as the cause. */
  signal?: AbortSignal | undefined;
}

/** One answer, whatever its status. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  /** Lower-cased names; a header sent several times is joined with ", ". */
  headers: Record<string, string>;
  /** The body decoded as UTF-8 (a byte order mark dropped, as WHATWG `text()` does). */
  body: string;
}

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

/** The longest answer read: a UTF-8 body of more bytes may not fit in a string (never more characters than bytes). */
export const MAX_ANSWER_BYTES = bufferConstants.MAX_STRING_LENGTH;
/** The TransportError code of an answer over MAX_ANSWER_BYTES: asking again would bring the same answer. */
export const ANSWER_TOO_LARGE = 'EANSWERTOOLARGE';

export interface NodeTransport {
  /** Sends one request; rejects with a TransportError when no complete answer came back. */
  send(url: URL, request: HttpRequest): Promise<HttpAnswer>;
  /** Closes idle keep-alive connections. */
  close(): void;
}

/** Requests over keep-alive node:http/https agents. Timeouts come from the caller's AbortSignal. */
export function createNodeTransport(tlsSettings: TlsSettings): NodeTransport {
  // `proxyEnv` is recent in @types/node; typed here so older typings still compile.
  const common: http.AgentOptions & { proxyEnv?: NodeJS.ProcessEnv } = { keepAlive: true, proxyEnv: process.env };
  const httpAgent = trackIdleSockets(new http.Agent(common));
  const httpsOptions: https.AgentOptions = { ...common, rejectUnauthorized: tlsSettings.rejectUnauthorized };
  if (tlsSettings.ca) httpsOptions.ca = tlsSettings.ca;
  const httpsAgent = trackIdleSockets(new https.Agent(httpsOptions));

  return {
    send: (url, request) => {
      const isHttps = url.protocol === 'https:';
      if (!isHttps && url.protocol !== 'http:') {
        return Promise.reject(
          new TransportError(`unsupported protocol ${url.protocol}`, { code: 'EPROTO', connected: false }),
        );
      }
      return send(url, request, isHttps ? https.request : http.request, isHttps ? httpsAgent : httpAgent, isHttps);
    },
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

function send(
  url: URL,
  request: HttpRequest,
  requestFn: RequestFn,
  agent: http.Agent,
  isHttps: boolean,
): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const signal = request.signal;
    let connected = false;
    let settled = false;
    let req: http.ClientRequest | undefined;

    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(toTransportError(err, connected, signal));
    };
    const onAbort = (): void => {
      const reason: unknown = signal?.reason;
      req?.destroy(reason instanceof Error ? reason : new Error('aborted'));
    };

    // A pooled socket the platform closed while this process was busy must not carry the request.
    closeStaleSockets(agent);
    try {
      req = requestFn(url, { method: request.method, headers: { ...request.headers }, agent }, (res) => {
        const chunks: Buffer[] = [];
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_ANSWER_BYTES) {
            // Past this the body can never be decoded (toString would throw out of the 'end' handler and
            // take the process down); a server streaming without end would also exhaust memory.
            fail(
              new TransportError(`unusable HTTP answer: over ${MAX_ANSWER_BYTES} bytes`, {
                code: ANSWER_TOO_LARGE,
                connected: true,
              }),
            );
            chunks.length = 0;
            req?.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(toAnswer(res, Buffer.concat(chunks)));
        });
      });
    } catch (err) {
      // node:http refuses a header it cannot send (a line break in an applicant id) before anything
      // leaves: not a transport failure, which would be retried as the platform being unreachable.
      settled = true;
      reject(err);
      return;
    }

    req.on('socket', (socket) => {
      // A pooled keep-alive socket is already connected; a new one reports when the handshake is done.
      if (!socket.connecting) connected = true;
      else socket.once(isHttps ? 'secureConnect' : 'connect', () => (connected = true));
    });
    req.on('error', fail);

    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end(request.body);
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

function toAnswer(res: http.IncomingMessage, body: Buffer): HttpAnswer {
  const headers: Record<string, string> = {};
  // node:http already lower-cases the names; only set-cookie arrives as an array.
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const text = body.toString('utf8');
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? '',
    headers,
    body: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text,
  };
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
