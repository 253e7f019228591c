import { STATUS_CODES } from 'node:http';
import { CtiError, RateLimitError, UpstreamApiError } from '../errors/index.js';
import { redactString } from '../log/redact.js';

/**
 * Turns every way a vendor call can fail into an UpstreamApiError (or RateLimitError) whose
 * message an analyst can act on. Nothing from axios is kept: its error objects carry the request
 * config, headers included. The `cause` is a plain record of the failure's code and status.
 */

export interface RequestContext {
  vendor: string;
  method: string;
  /** Redacted. */
  url: string;
}

/** A transport failure, already stripped of everything but what can be shown. */
export interface TransportFailure {
  kind: 'timeout' | 'network' | 'invalid-response';
  code: string | undefined;
  /** What happened, in words, without secrets. */
  description: string;
  retryable: boolean;
  /** The vendor certainly never received the request (connection refused, DNS failure...). */
  notSent: boolean;
}

export interface FailureCause {
  code?: string;
  status?: number;
}

export function formatDuration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

function attemptsSuffix(attempts: number): string {
  return attempts > 1 ? ` after ${attempts} attempts` : '';
}

function statusLabel(status: number): string {
  const text = STATUS_CODES[status];
  return text === undefined ? String(status) : `${status} ${text}`;
}

function cause(details: FailureCause): FailureCause {
  return Object.freeze({ ...details });
}

export interface StatusFailure {
  status: number;
  attempts: number;
  /** The vendor's own explanation, already redacted and truncated. */
  detail: string | undefined;
  /** The wait the vendor asked for, if any. */
  retryAfterMs: number | undefined;
  /** True when the vendor's wait exceeded what the client is willing to wait. */
  waitTooLong: boolean;
}

function authHint(status: number): string {
  return status === 401
    ? 'check the API key or token'
    : "the credentials lack the permission, or this host's IP address is not allow-listed by the vendor";
}

/** An HTTP status the caller did not accept. */
export function statusError(ctx: RequestContext, failure: StatusFailure): UpstreamApiError {
  const { status, attempts, detail, retryAfterMs } = failure;
  const head = `${ctx.vendor} API answered ${statusLabel(status)} for ${ctx.method} ${ctx.url}${attemptsSuffix(attempts)}`;
  const said = detail === undefined ? '' : `: "${detail}"`;
  const details = { vendor: ctx.vendor, status, method: ctx.method, url: ctx.url };
  const options = { cause: cause({ status }) };

  if (status === 429) {
    const wait =
      retryAfterMs === undefined
        ? ''
        : failure.waitTooLong
          ? `; the vendor asks to wait ${formatDuration(retryAfterMs)}, longer than this client waits`
          : `; retry after ${formatDuration(retryAfterMs)}`;
    return new RateLimitError(
      redactString(`${head}${said} (quota or rate limit exhausted${wait})`),
      { ...details, reason: 'quota', retryAfterMs },
      options,
    );
  }
  if (status === 401 || status === 403) {
    return new UpstreamApiError(
      redactString(`${head}${said} (${authHint(status)})`),
      { ...details, retryable: false, reason: 'auth' },
      options,
    );
  }
  const wait =
    failure.waitTooLong && retryAfterMs !== undefined
      ? ` (the vendor asks to wait ${formatDuration(retryAfterMs)}, longer than this client waits)`
      : '';
  const retryable = status === 408 || (status >= 500 && status !== 501);
  return new UpstreamApiError(
    redactString(`${head}${said}${wait}`),
    { ...details, retryable, reason: 'http' },
    options,
  );
}

/** A request that produced no usable HTTP answer. */
export function transportError(ctx: RequestContext, failure: TransportFailure, attempts: number): UpstreamApiError {
  const suffix = attemptsSuffix(attempts);
  const message =
    failure.kind === 'timeout'
      ? `${ctx.vendor} API did not answer ${ctx.method} ${ctx.url} in time${suffix}: ${failure.description}`
      : failure.kind === 'invalid-response'
        ? `${ctx.vendor} API sent an unusable response to ${ctx.method} ${ctx.url}${suffix}: ${failure.description}`
        : `${ctx.vendor} API could not be reached for ${ctx.method} ${ctx.url}${suffix}: ${failure.description}`;
  return new UpstreamApiError(
    redactString(message),
    { vendor: ctx.vendor, method: ctx.method, url: ctx.url, retryable: failure.retryable, reason: failure.kind },
    failure.code === undefined ? undefined : { cause: cause({ code: failure.code }) },
  );
}

/** A 2xx answer whose body cannot be used: HTML, truncated JSON, wrong shape. */
export function invalidResponseError(ctx: RequestContext, status: number, problem: string): UpstreamApiError {
  return new UpstreamApiError(
    redactString(`${ctx.vendor} API answered ${ctx.method} ${ctx.url} (status ${status}) with ${problem}`),
    { vendor: ctx.vendor, status, method: ctx.method, url: ctx.url, retryable: false, reason: 'invalid-response' },
    { cause: cause({ status }) },
  );
}

/** The client's own rate limit would make the request wait too long. */
export function localRateLimitError(ctx: RequestContext, budget: string, retryAfterMs: number | undefined) {
  const when = retryAfterMs === undefined ? '' : `; a slot frees up in ${formatDuration(retryAfterMs)}`;
  return new RateLimitError(
    redactString(
      `${ctx.vendor} API request ${ctx.method} ${ctx.url} not sent: the configured budget of ${budget} is used up${when}`,
    ),
    { vendor: ctx.vendor, method: ctx.method, url: ctx.url, reason: 'quota', retryAfterMs },
  );
}

/** withAuth: true towards an origin that may not receive the credentials. */
export function credentialsRefusedError(ctx: RequestContext, origin: string, allowed: readonly string[]) {
  return new UpstreamApiError(
    redactString(
      `Refused to send the ${ctx.vendor} credentials with ${ctx.method} ${ctx.url}: ${origin} is not among the origins allowed to receive them (${allowed.join(', ')}); add it to allowedOrigins if it belongs to ${ctx.vendor}`,
    ),
    { vendor: ctx.vendor, method: ctx.method, url: ctx.url, retryable: false, reason: 'auth' },
  );
}

/**
 * The auth function (an OAuth token request, typically) failed. An SDK error is already fit to
 * show and is kept, message and cause. Any other error may hold anything (a client secret in a
 * message, headers in a property), so only its class name and code are shown.
 */
export function credentialsUnavailableError(ctx: RequestContext, failure: unknown): UpstreamApiError {
  const safe = failure instanceof CtiError;
  const code = failure !== null && typeof failure === 'object' ? (failure as { code?: unknown }).code : undefined;
  const why = safe
    ? failure.message
    : `${failure instanceof Error ? failure.name : typeof failure}${typeof code === 'string' ? ` (${code})` : ''}`;
  const retryable = failure instanceof UpstreamApiError ? failure.retryable : true;
  return new UpstreamApiError(
    redactString(`${ctx.vendor} credentials could not be obtained for ${ctx.method} ${ctx.url}: ${why}`),
    { vendor: ctx.vendor, method: ctx.method, url: ctx.url, retryable, reason: 'auth' },
    safe ? { cause: failure } : undefined,
  );
}

/** Bytes for people: "512 bytes", "64 KiB", "2.5 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  const kib = bytes / 1024;
  if (kib < 1024) return `${Number.isInteger(kib) ? kib : kib.toFixed(1)} KiB`;
  const mib = kib / 1024;
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
}

export interface OversizeFacts {
  status: number;
  declared: number | undefined;
  received: number;
  limit: number;
  /** The setting that raises the cap, when the connector has one. */
  setting: string | undefined;
}

/** A 2xx body over the client's cap: refused before or while downloading it, never held whole. */
export function responseTooLargeError(ctx: RequestContext, facts: OversizeFacts): UpstreamApiError {
  const size =
    facts.received === 0 && facts.declared !== undefined
      ? `Content-Length ${formatBytes(facts.declared)}`
      : `the download was stopped after ${formatBytes(facts.received)}`;
  const hint = facts.setting === undefined ? '' : `; raise ${facts.setting} if answers this large are expected`;
  return new UpstreamApiError(
    redactString(
      `${ctx.vendor} API answered ${ctx.method} ${ctx.url} (status ${facts.status}) with a body larger than the ${formatBytes(facts.limit)} accepted (${size})${hint}`,
    ),
    {
      vendor: ctx.vendor,
      status: facts.status,
      method: ctx.method,
      url: ctx.url,
      retryable: false,
      reason: 'too-large',
    },
    { cause: cause({ status: facts.status }) },
  );
}

/** A 3xx that could not be followed; its status is unknown when the redirect could not even be read. */
export function redirectError(ctx: RequestContext, status: number | undefined, why: string): UpstreamApiError {
  const answered = status === undefined ? 'a redirect' : statusLabel(status);
  return new UpstreamApiError(
    redactString(`${ctx.vendor} API answered ${answered} for ${ctx.method} ${ctx.url}: ${why}`),
    { vendor: ctx.vendor, status, method: ctx.method, url: ctx.url, retryable: false, reason: 'http' },
    status === undefined ? undefined : { cause: cause({ status }) },
  );
}
