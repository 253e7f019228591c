/**
 * The HTTP client for one vendor API, assembled from its parts: the URL rules (urls.ts), the credentials and
 * the origins that may receive them (headers.ts, origins.ts), the proxy and TLS settings (proxy.ts, trust.ts,
 * agents.ts), the rate limiter, and the request loop with its retries (request.ts).
 */
import axios from 'axios';
import { sleep } from '../time/index.js';
import { SDK_VERSION } from '../version.js';
import { createTransportAgents } from './agents.js';
import { VendorHeaders } from './headers.js';
import { credentialOrigins } from './origins.js';
import { resolveProxySettings } from './proxy.js';
import { createRateLimiter } from './rate-limit.js';
import { type HttpRuntime, vendorRequests } from './request.js';
import { resolveRetryPolicy } from './retry.js';
import { createSharedRateLimiter } from './shared-rate-limit.js';
import { extraCaCertificates, trustStore } from './trust.js';
import type { HttpClient, HttpClientOptions, HttpRequest, HttpRequestOptions } from './types.js';
import { parseBaseUrl } from './urls.js';

export type { HttpRuntime } from './request.js';

export const defaultRuntime: HttpRuntime = {
  now: () => Date.now(),
  sleep,
  random: Math.random,
  env: process.env,
};

/** Vendor APIs answer in kilobytes; a connector that downloads more says so (HttpClientOptions.maxResponseBytes). */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** The client's bounds, checked once: a connector's mistake fails at start-up, not on its first request. */
function limitsOf(options: HttpClientOptions) {
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${String(timeoutMs)}`);
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!(Number.isSafeInteger(maxResponseBytes) && maxResponseBytes > 0)) {
    throw new RangeError(`maxResponseBytes must be a positive integer, got ${String(maxResponseBytes)}`);
  }
  return { timeoutMs, maxResponseBytes, maxRedirects: options.maxRedirects ?? 5 };
}

export function createHttpClientWith(options: HttpClientOptions, runtime: HttpRuntime): HttpClient {
  const { vendor, logger } = options;
  const base = parseBaseUrl(options.baseURL);
  const limits = limitsOf(options);
  const origins = credentialOrigins(base, options.allowedOrigins);
  const headers = new VendorHeaders({
    vendor,
    userAgent: options.userAgent ?? `cti-connector-sdk/${SDK_VERSION} (+${vendor})`,
    auth: options.auth,
    headers: options.headers,
    origins,
    logger,
  });

  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  if (!rejectUnauthorized) {
    logger?.warn(
      { vendor },
      `TLS certificate verification is OFF for ${vendor}: its answers could come from anyone on the network path`,
    );
  }
  const agents = createTransportAgents(
    resolveProxySettings(options.proxy, runtime.env),
    { ca: trustStore(extraCaCertificates(options.caCertificates, runtime.env)), rejectUnauthorized },
    limits.timeoutMs,
  );
  const limiter = options.rateLimit?.redisUrl
    ? createSharedRateLimiter({ ...options.rateLimit, redisUrl: options.rateLimit.redisUrl }, vendor, logger)
    : createRateLimiter(options.rateLimit, vendor);
  const lifecycle = new AbortController();
  const stopOnShutdown = (): void => lifecycle.abort(options.signal?.reason);
  if (options.signal?.aborted) stopOnShutdown();
  else options.signal?.addEventListener('abort', stopOnShutdown, { once: true });

  const execute = vendorRequests({
    vendor,
    base,
    origins,
    headers,
    agents,
    limiter,
    // A private instance: no global interceptors or defaults from elsewhere in the process.
    http: axios.create(),
    retry: resolveRetryPolicy(options.retry),
    ...limits,
    maxResponseSetting: options.maxResponseSetting,
    logger,
    runtime,
    lifecycle: lifecycle.signal,
  });

  let closing: Promise<void> | undefined;
  const client = {
    request: <T>(req: HttpRequest<T>) => execute(req),
    get: <T>(url: string, opts?: HttpRequestOptions<T>) => execute<T>({ ...opts, method: 'GET', url }),
    post: <T>(url: string, data?: unknown, opts?: HttpRequestOptions<T>) =>
      execute<T>({ ...opts, method: 'POST', url, data }),
    sendsCredentialsTo: (url: string | URL) => origins.allows(new URL(url, base)),
    close(): Promise<void> {
      closing ??= (async () => {
        lifecycle.abort(new DOMException(`the ${vendor} HTTP client was closed`, 'AbortError'));
        options.signal?.removeEventListener('abort', stopOnShutdown);
        await limiter.stop();
        agents.destroy();
      })();
      return closing;
    },
  };
  // The overloads only narrow `data` by whether acceptStatus was given; one implementation serves both.
  return client as HttpClient;
}

/**
 * The HTTP client for one vendor API: timeouts, retries with backoff, the vendor's rate limits,
 * proxy and CA from the environment, credentials only to the vendor's hosts, and errors that
 * name the vendor and never carry a secret.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  return createHttpClientWith(options, defaultRuntime);
}
