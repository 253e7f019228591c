import type { Readable } from 'node:stream';
import type { AxiosInstance } from 'axios';
import { isSecretHeaderName, redactString } from '../log/redact.js';
import type { TransportAgents } from './agents.js';
import type { TransportFailure } from './failure.js';
import { CredentialsUnavailable, type RequestHeaders } from './headers.js';
import { RedirectPolicy, type RedirectRefusal } from './redirects.js';
import { isNotSentCode, isTransientNetworkCode } from './retry.js';
import { certificateProblem, isTlsProtocolFailure } from './tls-errors.js';

/**
 * One attempt at the wire: axios with its Node http adapter (which nock intercepts), statuses never thrown,
 * redirects followed by axios under the redirect policy (redirects.ts), the answer read under its size cap.
 */

export interface WireRequest {
  method: string;
  url: URL;
  data: unknown;
  /** The request's headers, for its first hop and each redirect hop. */
  headers: RequestHeaders;
  maxRedirects: number;
  timeoutMs: number;
  /** Largest successful (2xx) body, counted after decompression; reading stops as soon as it is passed. */
  maxResponseBytes: number;
  signal: AbortSignal | undefined;
}

/** A 2xx answer larger than the cap: the download was cut at `received` bytes (or never started). */
export interface OversizedAnswer {
  kind: 'too-large';
  status: number;
  /** Content-Length, when the vendor sent one. */
  declared: number | undefined;
  /** Bytes read (after decompression) when the download was stopped. */
  received: number;
  limit: number;
}

export type WireOutcome =
  | { kind: 'response'; status: number; headers: Record<string, string>; body: Buffer; url: URL }
  | ({ kind: 'redirect-refused' } & RedirectRefusal)
  | OversizedAnswer
  | { kind: 'failure'; failure: TransportFailure };

/**
 * Error answers are read for the vendor's explanation only (vendorDetail looks at the first 64 KiB): a longer
 * one is cut there, without failing, so a 500 with a huge page is still a 500.
 */
const ERROR_BODY_BYTES = 64 * 1024;

function readField(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

function stringField(value: unknown, key: string): string | undefined {
  const field = readField(value, key);
  return typeof field === 'string' ? field : undefined;
}

/**
 * Reduces an axios/Node error to code + words. Only the code and the system message are read;
 * the error object (which holds the request config and headers) is dropped here.
 */
export function classifyTransportError(err: unknown, timedOut: boolean, timeoutMs: number): TransportFailure {
  const inner = readField(err, 'cause');
  const code = stringField(err, 'code') ?? stringField(inner, 'code');
  const message = redactString(stringField(err, 'message') ?? 'unknown error');

  if (timedOut || code === 'ECONNABORTED' || (code === 'ETIMEDOUT' && /timeout of \d+ms/.test(message))) {
    return {
      kind: 'timeout',
      code: code === 'ERR_CANCELED' || code === undefined ? 'ETIMEDOUT' : code,
      description: `no complete answer within ${timeoutMs} ms`,
      retryable: true,
      notSent: false,
    };
  }
  if (code === 'EPROXY') {
    const proxyStatus = readField(err, 'proxyStatus') ?? readField(inner, 'proxyStatus');
    const status = typeof proxyStatus === 'number' ? proxyStatus : undefined;
    const authNeeded = status === 407;
    return {
      kind: 'network',
      code,
      description: authNeeded
        ? 'the proxy requires authentication (407): put the credentials in the proxy URL (http://user:password@proxy:port)'
        : `the proxy refused to open a tunnel (status ${status ?? 'unknown'})`,
      retryable: !authNeeded && (status === undefined || status >= 500),
      notSent: true,
    };
  }
  const problem = certificateProblem(code);
  if (problem !== undefined) {
    return {
      kind: 'network',
      code,
      description: `the TLS certificate was rejected: ${problem} (${code}); if a proxy or private CA signs it, add that CA with HTTPS_CA_CERTIFICATES or caCertificates`,
      retryable: false,
      notSent: true,
    };
  }
  if (isTlsProtocolFailure(code)) {
    return {
      kind: 'network',
      code,
      description: `the TLS handshake failed (${code}): is the URL's scheme right (https:// to a plain HTTP port)?`,
      retryable: false,
      notSent: true,
    };
  }
  return {
    kind: 'network',
    code,
    description: code === undefined ? message : `${code} (${message})`,
    retryable: isTransientNetworkCode(code),
    notSent: isNotSentCode(code),
  };
}

function flattenHeaders(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === null || typeof raw !== 'object') return out;
  for (const [name, value] of Object.entries(raw)) {
    const key = name.toLowerCase();
    if (isSecretHeaderName(key) || value === undefined || value === null) continue;
    out[key] = Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }
  return out;
}

type CappedBody = { complete: true; body: Buffer } | { complete: false; body: Buffer; received: number };

/**
 * Reads a (decompressed) body until `limit` bytes are passed, then stops the download: the bytes past the
 * cap are never held, whatever the vendor sends or declares. `keep` bounds what is kept of a cut body.
 */
async function readCapped(stream: Readable, limit: number, keep: number): Promise<CappedBody> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limit) {
      // Leaving the loop destroys the stream, hence the socket: nothing more is downloaded.
      const kept = Buffer.concat(chunks, received - chunk.length);
      return { complete: false, body: kept.subarray(0, keep), received };
    }
    chunks.push(chunk);
  }
  return { complete: true, body: Buffer.concat(chunks, received) };
}

function declaredLength(headers: Record<string, string>): number | undefined {
  const value = headers['content-length'];
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

export async function sendOverWire(
  http: AxiosInstance,
  agents: TransportAgents,
  request: WireRequest,
): Promise<WireOutcome> {
  // One deadline for the whole attempt, redirects included; it also ends a body that stalls.
  const deadline = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal === undefined ? deadline : AbortSignal.any([deadline, request.signal]);
  const hasBody = request.data !== undefined && request.data !== null;
  const redirects = new RedirectPolicy({
    url: request.url,
    hasBody,
    maxRedirects: request.maxRedirects,
    headers: request.headers,
    agents,
  });
  let response: { status: number; headers: unknown; data: Readable };
  try {
    const headers = await request.headers.first(request.url);
    await agents.ready();
    const first = agents.forUrl(request.url);
    response = await http.request({
      method: request.method,
      url: request.url.href,
      data: request.data,
      headers,
      adapter: 'http',
      // A stream, read here under the cap: axios would buffer the whole body first.
      responseType: 'stream',
      validateStatus: () => true,
      maxRedirects: redirects.followLimit,
      beforeRedirect: redirects.beforeRedirect,
      // The agents decide, for each hop, whether it goes through a proxy: axios never reads the environment.
      proxy: false,
      httpAgent: first.http,
      httpsAgent: first.https,
      timeout: request.timeoutMs,
      signal,
      maxContentLength: -1,
      maxBodyLength: Number.POSITIVE_INFINITY,
      decompress: true,
      transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: false },
    });
  } catch (err) {
    if (err instanceof CredentialsUnavailable) throw err;
    if (request.signal?.aborted) throw request.signal.reason;
    if (redirects.refusal !== undefined) return { kind: 'redirect-refused', ...redirects.refusal };
    if (hasCode(err, 'ERR_INVALID_URL')) {
      return { kind: 'redirect-refused', status: undefined, why: 'the redirect target is not a valid URL' };
    }
    return { kind: 'failure', failure: classifyTransportError(err, deadline.aborted, request.timeoutMs) };
  }
  return readAnswer(response, flattenHeaders(response.headers), request, deadline, redirects.url);
}

/** Whether `err`, or an error in its chain of causes, has `code` (follow-redirects wraps what it throws). */
function hasCode(err: unknown, code: string): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    if (readField(current, 'code') === code) return true;
    current = readField(current, 'cause');
  }
  return false;
}

async function readAnswer(
  response: { status: number; data: Readable },
  headers: Record<string, string>,
  request: WireRequest,
  deadline: AbortSignal,
  url: URL,
): Promise<WireOutcome> {
  const { status } = response;
  const success = status >= 200 && status < 300;
  const limit = success ? request.maxResponseBytes : Math.min(request.maxResponseBytes, ERROR_BODY_BYTES);
  const declared = declaredLength(headers);
  // Content-Length counts the bytes on the wire (compressed, if so): when even those exceed the cap, the
  // body is refused before its first byte is read.
  if (success && declared !== undefined && declared > limit) {
    response.data.destroy();
    return { kind: 'too-large', status, declared, received: 0, limit };
  }
  let read: CappedBody;
  try {
    read = await readCapped(response.data, limit, success ? 0 : limit);
  } catch (err) {
    if (request.signal?.aborted) throw request.signal.reason;
    return { kind: 'failure', failure: classifyTransportError(err, deadline.aborted, request.timeoutMs) };
  }
  if (!read.complete && success) return { kind: 'too-large', status, declared, received: read.received, limit };
  return { kind: 'response', status, headers, body: read.body, url };
}
