/**
 * One vendor request, attempt after attempt: each attempt waits for the rate limiter, goes over the wire,
 * and its outcome is an answer, a retry after a backoff (or the vendor's Retry-After), or an error that names
 * the vendor and holds no secret. Non-idempotent requests are retried only when the vendor surely did not
 * process them.
 */
import type { AxiosInstance } from 'axios';
import { redactString, redactUrl } from '../log/redact.js';
import type { TransportAgents } from './agents.js';
import { acceptedResponse, successResponse } from './answers.js';
import { vendorDetail } from './body.js';
import {
  credentialsRefusedError,
  credentialsUnavailableError,
  localRateLimitError,
  type RequestContext,
  redirectError,
  responseTooLargeError,
  statusError,
  type TransportFailure,
  transportError,
} from './failure.js';
import { CredentialsUnavailable, type VendorHeaders } from './headers.js';
import type { CredentialOrigins } from './origins.js';
import { originOf } from './origins.js';
import { type RateLimiter, RateLimitWaitError } from './rate-limit.js';
import {
  backoffDelayMs,
  isIdempotentMethod,
  isRetryableStatus,
  isUnprocessedStatus,
  type RetryPolicy,
  retryAfterMs,
} from './retry.js';
import { sendOverWire, type WireOutcome } from './transport.js';
import type { HttpAcceptedResponse, HttpLogger, HttpRequest, HttpResponse } from './types.js';
import { resolveUrl } from './urls.js';

/** Time and randomness, replaceable in tests. */
export interface HttpRuntime {
  now(): number;
  sleep(ms: number, signal: AbortSignal | undefined): Promise<void>;
  random(): number;
  env: Record<string, string | undefined>;
}

export interface VendorRequestsOptions {
  vendor: string;
  base: URL;
  origins: CredentialOrigins;
  headers: VendorHeaders;
  agents: TransportAgents;
  limiter: Pick<RateLimiter, 'schedule'>;
  http: AxiosInstance;
  retry: RetryPolicy;
  timeoutMs: number;
  maxRedirects: number;
  maxResponseBytes: number;
  maxResponseSetting: string | undefined;
  logger: HttpLogger | undefined;
  runtime: HttpRuntime;
  /** Fires when the client is closed or the connector shuts down: every request and wait ends. */
  lifecycle: AbortSignal;
}

const SUCCESS = (status: number): boolean => status >= 200 && status < 300;

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The function that sends one request of the client, retries included. */
export function vendorRequests(o: VendorRequestsOptions) {
  const { vendor, runtime, logger } = o;

  function logAttempt(ctx: RequestContext, outcome: WireOutcome, attempt: number, startedAt: number): void {
    const fields: Record<string, unknown> = {
      vendor,
      method: ctx.method,
      url: ctx.url,
      attempt,
      durationMs: Math.max(0, runtime.now() - startedAt),
    };
    if (outcome.kind === 'failure') fields.error = outcome.failure.code ?? outcome.failure.kind;
    else if (outcome.kind !== 'redirect-refused' || outcome.status !== undefined) fields.status = outcome.status;
    logger?.debug(fields, 'vendor HTTP request');
  }

  return async function execute<T>(req: HttpRequest<T>): Promise<HttpResponse<T> | HttpAcceptedResponse> {
    const method = (req.method ?? 'GET').toUpperCase();
    const target = resolveUrl(o.base, req.url, req.params);
    const ctx: RequestContext = { vendor, method, url: redactString(redactUrl(target.href)) };
    const signal = req.signal === undefined ? o.lifecycle : AbortSignal.any([o.lifecycle, req.signal]);
    if (signal.aborted) throw abortReason(signal);
    if (req.withAuth === true && !o.origins.allows(target)) {
      throw credentialsRefusedError(ctx, originOf(target), o.origins.list);
    }
    const idempotent = req.idempotent ?? isIdempotentMethod(method);
    const responseType = req.responseType ?? 'json';
    const requestCap = req.maxResponseBytes;
    if (requestCap !== undefined && !(Number.isSafeInteger(requestCap) && requestCap > 0)) {
      throw new RangeError(`maxResponseBytes must be a positive integer, got ${String(requestCap)}`);
    }
    const ownCap = requestCap !== undefined && requestCap < o.maxResponseBytes;
    const wire = {
      method,
      url: target,
      data: req.data,
      headers: o.headers.forRequest(req as HttpRequest<unknown>),
      maxRedirects: o.maxRedirects,
      timeoutMs: o.timeoutMs,
      maxResponseBytes: ownCap ? requestCap : o.maxResponseBytes,
      signal,
    };

    for (let attempt = 1; ; attempt++) {
      let startedAt = runtime.now();
      let outcome: WireOutcome;
      try {
        outcome = await o.limiter.schedule(() => {
          startedAt = runtime.now();
          return sendOverWire(o.http, o.agents, wire);
        }, signal);
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        if (err instanceof RateLimitWaitError) throw localRateLimitError(ctx, err.budget, err.retryAfterMs);
        if (err instanceof CredentialsUnavailable) throw credentialsUnavailableError(ctx, err.cause);
        throw err;
      }
      logAttempt(ctx, outcome, attempt, startedAt);

      let failure: TransportFailure | undefined;
      let waitMs: number;
      if (outcome.kind === 'redirect-refused') {
        throw redirectError(ctx, outcome.status, outcome.why);
      } else if (outcome.kind === 'too-large') {
        // Not retried: the same request would bring the same answer.
        const setting = ownCap ? (req.maxResponseSetting ?? o.maxResponseSetting) : o.maxResponseSetting;
        throw responseTooLargeError(ctx, { ...outcome, setting });
      } else if (outcome.kind === 'failure') {
        failure = outcome.failure;
        const retryable = failure.retryable && (idempotent || failure.notSent);
        if (!retryable || attempt >= o.retry.maxAttempts) throw transportError(ctx, failure, attempt);
        waitMs = backoffDelayMs(attempt, o.retry, runtime.random);
      } else {
        const { status } = outcome;
        if (SUCCESS(status)) return successResponse(ctx, outcome, req.schema, responseType);
        if (req.acceptStatus?.includes(status)) return acceptedResponse(outcome, responseType);
        const hint = retryAfterMs(status, outcome.headers, runtime.now());
        const waitTooLong = hint !== undefined && hint > o.retry.maxRetryAfterMs;
        const retryable = isRetryableStatus(status) && (idempotent || isUnprocessedStatus(status));
        if (!retryable || attempt >= o.retry.maxAttempts || waitTooLong) {
          throw statusError(ctx, {
            status,
            attempts: attempt,
            detail: vendorDetail(outcome.body, outcome.headers['content-type']),
            retryAfterMs: hint,
            waitTooLong,
          });
        }
        waitMs = hint ?? backoffDelayMs(attempt, o.retry, runtime.random);
      }

      logger?.warn(
        {
          vendor,
          method,
          url: ctx.url,
          attempt,
          waitMs,
          ...(failure === undefined
            ? { status: outcome.kind === 'response' ? outcome.status : undefined }
            : { error: failure.code ?? failure.kind }),
        },
        'vendor HTTP request failed; retrying',
      );
      await runtime.sleep(waitMs, signal);
    }
  };
}
