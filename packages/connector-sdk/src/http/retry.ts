import type { RetryOptions } from './types.js';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

export function resolveRetryPolicy(options: RetryOptions | undefined): RetryPolicy {
  const policy: RetryPolicy = {
    maxAttempts: options?.maxAttempts ?? 4,
    baseDelayMs: options?.baseDelayMs ?? 500,
    maxDelayMs: options?.maxDelayMs ?? 30_000,
    maxRetryAfterMs: options?.maxRetryAfterMs ?? 120_000,
  };
  if (!(Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1)) {
    throw new RangeError(`retry.maxAttempts must be an integer of 1 or more, got ${String(policy.maxAttempts)}`);
  }
  for (const key of ['baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
    if (!(policy[key] >= 0)) throw new RangeError(`retry.${key} must be zero or more, got ${String(policy[key])}`);
  }
  return policy;
}

/** Exponential backoff with full jitter: uniform in [0, min(maxDelay, base * 2^(attempt-1))). */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Statuses worth another attempt: the server may answer differently later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

/**
 * Statuses meaning the server did not process the request, so even a POST may be repeated:
 * 408 (it gave up reading it), 429 (refused by quota), 503 (refused while unavailable).
 */
export function isUnprocessedStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 503;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method);
}

/** Network failures after which the vendor certainly never saw the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPROXY']);

/** Network failures that may pass: resets, refusals, DNS hiccups, unreachable networks. */
const TRANSIENT_NETWORK_CODES = new Set([
  ...NOT_SENT_CODES,
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ESOCKETTIMEDOUT',
  'ENETDOWN',
  'EHOSTDOWN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
]);

export function isTransientNetworkCode(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_NETWORK_CODES.has(code);
}

export function isNotSentCode(code: string | undefined): boolean {
  return code !== undefined && NOT_SENT_CODES.has(code);
}

/** The server's clock, from its Date header, to measure HTTP dates and epochs without clock skew. */
function serverNow(headers: Record<string, string>, now: number): number {
  const date = headers.date === undefined ? Number.NaN : Date.parse(headers.date);
  return Number.isFinite(date) ? date : now;
}

function parseDeltaSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d+(?:\.\d+)?$/.test(trimmed)) return undefined;
  return Math.ceil(Number(trimmed) * 1000);
}

/** Retry-After: delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | undefined, headers: Record<string, string>, now: number): number | undefined {
  if (value === undefined) return undefined;
  const delta = parseDeltaSeconds(value);
  if (delta !== undefined) return delta;
  const at = Date.parse(value);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - serverNow(headers, now));
}

/**
 * X-RateLimit-Reset style: epoch seconds (epoch milliseconds above 1e12), an ISO date, or, as
 * some APIs send, a small number of seconds to wait.
 */
function parseReset(value: string | undefined, headers: Record<string, string>, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const reference = serverNow(headers, now);
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    const n = Number(trimmed);
    if (n >= 1e12) return Math.max(0, Math.ceil(n - reference));
    if (n >= 1e9) return Math.max(0, Math.ceil(n * 1000 - reference));
    return Math.ceil(n * 1000);
  }
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - reference) : undefined;
}

/**
 * The longest wait a vendor's answer is read as announcing: 100 years, as the longest duration setting.
 * Past it ("Retry-After: 10^20") a date computed from the wait is not a date any more (RangeError).
 */
export const LONGEST_VENDOR_WAIT_MS = 100 * 365 * 86_400_000;

/**
 * How long the vendor asks us to wait, in ms (at most LONGEST_VENDOR_WAIT_MS), or undefined when it does
 * not say. Retry-After is honoured on any status; rate-limit reset headers only on 429, where they
 * describe the window that was exhausted.
 */
export function retryAfterMs(status: number, headers: Record<string, string>, now: number): number | undefined {
  const announced = announcedWaitMs(status, headers, now);
  return announced === undefined ? undefined : Math.min(announced, LONGEST_VENDOR_WAIT_MS);
}

function announcedWaitMs(status: number, headers: Record<string, string>, now: number): number | undefined {
  const retryAfter = parseRetryAfter(headers['retry-after'], headers, now);
  if (retryAfter !== undefined) return retryAfter;
  if (status !== 429) return undefined;
  const resetAfter =
    parseDeltaSeconds(headers['x-rate-limit-reset-after']) ?? parseDeltaSeconds(headers['x-ratelimit-reset-after']);
  if (resetAfter !== undefined) return resetAfter;
  const draftReset = parseDeltaSeconds(headers['ratelimit-reset']);
  if (draftReset !== undefined) return draftReset;
  const structured = /(?:^|[;,\s])reset=(\d+)/i.exec(headers.ratelimit ?? '')?.[1];
  if (structured !== undefined) return Number(structured) * 1000;
  return parseReset(headers['x-ratelimit-reset'] ?? headers['x-rate-limit-reset'], headers, now);
}
