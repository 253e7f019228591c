/**
 * The urlscan.io API: `GET /api/v1/search/`, `GET /api/v1/result/{uuid}/` and, only when asked,
 * `POST /api/v1/scan/`, with the `API-Key` header when a key is set (search works without one).
 *
 * Rate limits, two layers:
 * - our own budget (URLSCAN_RATE_LIMIT_PER_HOUR, a sliding window in the SDK client);
 * - urlscan's quotas, per action (search, retrieve, scan): its X-Rate-Limit-Remaining/-Reset headers are
 *   read on every answer. When an action's quota is used up (Remaining 0, or HTTP 429) the next request of
 *   that action waits for the reset if it comes within URLSCAN_MAX_WAIT_SECONDS, else it fails at once with
 *   the reset time, without calling urlscan. The consumer is never blocked for an hour.
 */
import {
  credentialsRejected,
  type HttpAcceptedResponse,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  InputError,
  LONGEST_VENDOR_WAIT_MS,
  type Logger,
  RateLimitError,
  sleep,
  UpstreamApiError,
  z,
} from '@cti/connector-sdk';
import type { UrlscanConfig, Visibility } from './config.js';

export const VENDOR = 'urlscan.io';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** urlscan's shortest quota window: the wait assumed when a 429 does not say when it resets. */
const DEFAULT_RESET_MS = 60_000;
/** urlscan asks to wait about 10 s before the first poll of a new scan, then to poll every few seconds. */
const FIRST_POLL_MS = 10_000;
const POLL_INTERVAL_MS = 5_000;

const text = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);
const count = z
  .number()
  .nullish()
  .transform((v) => v ?? undefined);
const flag = z
  .union([z.boolean(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined ? undefined : v === true || v === 1));
/** A list of strings; anything else in it is dropped. */
const strings = z
  .array(z.unknown())
  .nullish()
  .transform((v) => (v ?? []).filter((s): s is string => typeof s === 'string' && s.trim() !== ''));
const status = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined ? undefined : String(v)));

/** A hit's verdict: urlscan's search answers carry `verdicts.malicious`/`score`, some `verdicts.overall`. */
const hitVerdicts = z
  .looseObject({
    malicious: flag,
    score: count,
    overall: z.looseObject({ malicious: flag, score: count }).nullish(),
  })
  .nullish();

export const searchHitSchema = z.looseObject({
  _id: z.string(),
  task: z.looseObject({ time: text, uuid: text, url: text, domain: text }).nullish(),
  page: z.looseObject({ url: text, domain: text, status, ip: text }).nullish(),
  verdicts: hitVerdicts,
});
export type SearchHit = z.output<typeof searchHitSchema>;

export const searchSchema = z.looseObject({
  results: z
    .array(searchHitSchema)
    .nullish()
    .transform((v) => v ?? []),
  total: count,
  has_more: z.boolean().nullish(),
});

const brand = z.union([
  z.string(),
  z.looseObject({
    name: text,
    key: text,
    vertical: z
      .union([z.array(z.unknown()), z.string()])
      .nullish()
      .transform((v) => (typeof v === 'string' ? [v] : (v ?? []).filter((s): s is string => typeof s === 'string'))),
  }),
]);
const brands = z
  .array(brand)
  .nullish()
  .transform((v) => v ?? []);

const verdict = z
  .looseObject({
    score: count,
    malicious: flag,
    categories: strings,
    brands,
    tags: strings,
  })
  .nullish()
  .transform((v) => v ?? { score: undefined, malicious: undefined, categories: [], brands: [], tags: [] });

const ipStat = z.looseObject({
  ip: text,
  domains: strings,
  asn: z.looseObject({ asn: z.union([z.string(), z.number()]).nullish(), name: text, description: text }).nullish(),
});

const pageSchema = z.looseObject({
  url: text,
  domain: text,
  apexDomain: text,
  ip: text,
  asn: z
    .union([z.string(), z.number()])
    .nullish()
    .transform((v) => (v === null || v === undefined ? undefined : String(v))),
  asnname: text,
  country: text,
  server: text,
  title: text,
  mimeType: text,
  status,
  tlsIssuer: text,
  tlsValidDays: count,
  tlsAgeDays: count,
  tlsValidFrom: text,
  redirected: z
    .union([z.string(), z.boolean()])
    .nullish()
    .transform((v) => (typeof v === 'string' ? v : undefined)),
});

/** The fields of a scan result the connector reads; anything else is tolerated and ignored. */
export const resultSchema = z.looseObject({
  task: z.looseObject({
    uuid: z.string().regex(UUID, { error: 'task.uuid is not a scan uuid' }),
    time: text,
    url: text,
    domain: text,
    apexDomain: text,
    method: text,
    visibility: text,
    reportURL: text,
    screenshotURL: text,
  }),
  page: pageSchema.nullish().transform((v) => v ?? pageSchema.parse({})),
  verdicts: z
    .looseObject({
      overall: verdict,
      urlscan: verdict,
      community: z
        .looseObject({
          score: count,
          malicious: flag,
          votesTotal: count,
          votesMalicious: count,
          votesBenign: count,
          categories: strings,
        })
        .nullish(),
      engines: z
        .looseObject({
          score: count,
          malicious: z
            .array(z.unknown())
            .nullish()
            .transform((v) => v ?? []),
          maliciousTotal: count,
          benignTotal: count,
          enginesTotal: count,
        })
        .nullish(),
    })
    .nullish(),
  lists: z.looseObject({ servers: strings }).nullish(),
  stats: z
    .looseObject({
      ipStats: z
        .array(ipStat)
        .nullish()
        .transform((v) => v ?? []),
    })
    .nullish(),
});
export type ScanResult = z.output<typeof resultSchema>;

const submissionSchema = z.looseObject({ uuid: z.string().regex(UUID), message: text, visibility: text });

/** The vendor client settings: the key when there is one, a timeout on every request, our hourly budget. */
export function urlscanHttpOptions(config: UrlscanConfig): Omit<HttpClientOptions, 'logger' | 'signal'> {
  return {
    vendor: VENDOR,
    baseURL: config.URLSCAN_API_URL,
    auth: config.URLSCAN_API_KEY
      ? { type: 'header', name: 'API-Key', value: config.URLSCAN_API_KEY }
      : { type: 'none' },
    timeoutMs: config.URLSCAN_TIMEOUT_SECONDS * 1000,
    // A scan result lists every request the page made: several MB for a heavy page.
    maxResponseBytes: 32 * 1024 * 1024,
    rateLimit: { perHour: config.URLSCAN_RATE_LIMIT_PER_HOUR, maxWaitMs: config.URLSCAN_MAX_WAIT_SECONDS * 1000 },
    // 429 is handled below from urlscan's own headers; these retries cover 5xx and network failures.
    retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 },
  };
}

/** urlscan's quotas are per action; each is tracked on its own. */
export type QuotaAction = 'search' | 'retrieve' | 'scan';

export type Submission = { accepted: true; uuid: string } | { accepted: false; reason: string };

export interface UrlscanClientOptions {
  http: HttpClient;
  /** Whether URLSCAN_API_KEY is set (only for the wording of errors). */
  hasApiKey: boolean;
  /** URLSCAN_MAX_WAIT_SECONDS in ms: the longest wait for a quota reset. */
  maxWaitMs: number;
  /** URLSCAN_RATE_LIMIT_PER_HOUR, named in the error when our own budget is used up. */
  perHour: number;
  logger?: Pick<Logger, 'info' | 'debug'>;
  now?: () => number;
  /** Waits (quota resets, polls); a timer-based default, so tests drive it with fake timers. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** How long until the quota of an answer resets, in ms from `now` (100 years at most), when urlscan says. */
export function quotaResetMs(headers: Record<string, string>, now: number): number | undefined {
  const announced = announcedResetMs(headers, now);
  return announced === undefined ? undefined : Math.min(announced, LONGEST_VENDOR_WAIT_MS);
}

function announcedResetMs(headers: Record<string, string>, now: number): number | undefined {
  // Reset-After is relative, so immune to clock skew; Reset is the absolute time of the same moment.
  const after = headers['x-rate-limit-reset-after'];
  if (after !== undefined && /^\d+(?:\.\d+)?$/.test(after.trim())) return Math.ceil(Number(after) * 1000);
  const reset = headers['x-rate-limit-reset'];
  if (reset !== undefined) {
    const trimmed = reset.trim();
    const at = /^\d+$/.test(trimmed) ? Number(trimmed) * (Number(trimmed) > 1e12 ? 1 : 1000) : Date.parse(trimmed);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined && /^\d+$/.test(retryAfter.trim())) return Number(retryAfter) * 1000;
  return undefined;
}

export class UrlscanClient {
  /** Per action, the time before which urlscan will refuse it (its quota is used up). */
  private readonly exhaustedUntil = new Map<QuotaAction, { until: number; why: string }>();
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly o: UrlscanClientOptions) {
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? sleep;
  }

  /** Search API hits for a query (see search.ts), as urlscan orders them (newest first). */
  async search(query: string, size: number, signal?: AbortSignal): Promise<SearchHit[]> {
    return (await this.searchWithTotal(query, size, signal)).hits;
  }

  /** The hits and how many scans match in all (`total`, when urlscan says). */
  async searchWithTotal(
    query: string,
    size: number,
    signal?: AbortSignal,
  ): Promise<{ hits: SearchHit[]; total: number | undefined }> {
    const res = await this.send('search', {
      method: 'GET',
      url: '/api/v1/search/',
      params: { q: query, size },
      schema: searchSchema,
      ...(signal ? { signal } : {}),
    });
    return res.ok ? { hits: res.data.results, total: res.data.total } : { hits: [], total: 0 };
  }

  /** One scan result, or null when urlscan no longer has it (404, 410). */
  async result(uuid: string, signal?: AbortSignal): Promise<ScanResult | null> {
    const res = await this.fetchResult(uuid, signal);
    return res.ok ? res.data : null;
  }

  /** Submits a new scan. A refusal of the URL itself (400: DNS error, blocked domain...) is an answer, not an error. */
  async submit(url: string, visibility: Visibility, signal?: AbortSignal): Promise<Submission> {
    const res = await this.send('scan', {
      method: 'POST',
      url: '/api/v1/scan/',
      data: { url, visibility },
      schema: submissionSchema,
      acceptStatus: [400],
      ...(signal ? { signal } : {}),
    });
    if (res.ok) return { accepted: true, uuid: res.data.uuid };
    const body = (res.data ?? {}) as { message?: unknown; description?: unknown };
    const parts = [body.message, body.description].filter((p): p is string => typeof p === 'string' && p !== '');
    return { accepted: false, reason: parts.length > 0 ? parts.join(': ') : `HTTP ${res.status}` };
  }

  /**
   * Polls a submitted scan until its result is ready (urlscan answers 404 meanwhile), within `timeoutMs`.
   * @throws UpstreamApiError when the scan has not finished in time.
   */
  async waitForResult(uuid: string, timeoutMs: number, signal?: AbortSignal): Promise<ScanResult> {
    const deadline = this.now() + timeoutMs;
    let wait = Math.min(FIRST_POLL_MS, timeoutMs);
    for (let poll = 1; ; poll++) {
      await this.sleep(wait, signal);
      const res = await this.fetchResult(uuid, signal);
      if (res.ok) return res.data;
      const message = (res.data as { message?: unknown } | null)?.message;
      this.o.logger?.debug({ uuid, poll, status: res.status, message }, 'urlscan.io scan not finished yet');
      const left = deadline - this.now();
      if (res.status === 410 || left <= 0) {
        throw new UpstreamApiError(
          res.status === 410
            ? `urlscan.io deleted the scan ${uuid} before it could be read`
            : `urlscan.io scan ${uuid} did not finish within ${Math.round(timeoutMs / 1000)} s (URLSCAN_SUBMIT_WAIT_SECONDS): its result will be at https://urlscan.io/result/${uuid}/`,
          { vendor: VENDOR, status: res.status, retryable: res.status !== 410, reason: 'http' },
        );
      }
      wait = Math.min(POLL_INTERVAL_MS, left);
    }
  }

  /**
   * The page screenshot of a scan, from `/screenshots/<uuid>.png` on URLSCAN_API_URL's origin (never from a
   * URL the result names), at most `maxBytes`; null when urlscan has none (404, 410).
   * @throws UpstreamApiError with reason 'too-large' as soon as the download passes `maxBytes`.
   */
  async screenshot(uuid: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    if (!UUID.test(uuid)) throw new InputError(`Not a urlscan.io scan uuid: ${JSON.stringify(uuid)}`);
    const res = await this.send('retrieve', {
      method: 'GET',
      url: `/screenshots/${uuid.toLowerCase()}.png`,
      responseType: 'bytes',
      maxResponseBytes: maxBytes,
      maxResponseSetting: 'URLSCAN_SCREENSHOT_MAX_MB',
      acceptStatus: [404, 410],
      ...(signal ? { signal } : {}),
    });
    return res.ok && res.data instanceof Uint8Array ? res.data : null;
  }

  private fetchResult(uuid: string, signal?: AbortSignal) {
    if (!UUID.test(uuid)) throw new InputError(`Not a urlscan.io scan uuid: ${JSON.stringify(uuid)}`);
    return this.send('retrieve', {
      method: 'GET',
      url: `/api/v1/result/${uuid.toLowerCase()}/`,
      schema: resultSchema,
      acceptStatus: [404, 410],
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * One request under urlscan's quota for `action`: waits for a reset within the bound, or fails with the
   * reset time; retries once after a 429 whose reset comes within the bound.
   */
  private async send<T>(action: QuotaAction, req: HttpRequest<T>): Promise<HttpResponse<T> | HttpAcceptedResponse> {
    for (let attempt = 1; ; attempt++) {
      await this.awaitQuota(action, req.signal);
      let res: HttpResponse<T> | HttpAcceptedResponse;
      try {
        res = await this.o.http.request({ ...req, acceptStatus: [...(req.acceptStatus ?? []), 429] });
      } catch (err) {
        throw this.explain(err);
      }
      // One reading of the clock: an absolute X-Rate-Limit-Reset turned into a delay and back must give the
      // same instant, not one a millisecond later when the clock ticks in between.
      const now = this.now();
      const resetMs = quotaResetMs(res.headers, now);
      if (res.status === 429) {
        const until = now + (resetMs ?? DEFAULT_RESET_MS);
        const why = `HTTP 429${windowOf(res.headers)}`;
        this.exhaustedUntil.set(action, { until, why });
        if (until - now > this.o.maxWaitMs) throw this.quotaError(action, until, why);
        // Still refused after waiting for the reset urlscan announced: its clock and ours disagree, or the
        // quota is shared with another client. Say that, not that the reset is too far away.
        if (attempt >= 2) throw this.stillRefusedError(action, until, why);
        continue;
      }
      if (res.headers['x-rate-limit-remaining']?.trim() === '0' && resetMs !== undefined) {
        this.exhaustedUntil.set(action, { until: now + resetMs, why: 'X-Rate-Limit-Remaining: 0' });
      }
      return res;
    }
  }

  private async awaitQuota(action: QuotaAction, signal: AbortSignal | undefined): Promise<void> {
    const known = this.exhaustedUntil.get(action);
    if (known === undefined) return;
    const { until, why } = known;
    const wait = until - this.now();
    if (wait <= 0) {
      this.exhaustedUntil.delete(action);
      return;
    }
    if (wait > this.o.maxWaitMs) throw this.quotaError(action, until, why);
    this.o.logger?.info(
      { action, waitMs: wait, resetAt: new Date(until).toISOString() },
      'urlscan.io quota used up: waiting for its reset',
    );
    await this.sleep(wait, signal);
    this.exhaustedUntil.delete(action);
  }

  private stillRefusedError(action: QuotaAction, until: number, why: string): RateLimitError {
    return new RateLimitError(
      `urlscan.io ${action} quota exhausted (${why}): still refused after waiting once for the reset urlscan announced; no ${action} request is sent before ${new Date(until).toISOString()}`,
      { vendor: VENDOR, status: 429, retryAfterMs: Math.max(0, until - this.now()) },
    );
  }

  private quotaError(action: QuotaAction, until: number, why: string): RateLimitError {
    const waitMs = Math.max(0, until - this.now());
    return new RateLimitError(
      `urlscan.io ${action} quota exhausted (${why}): it resets at ${new Date(until).toISOString()}, more than URLSCAN_MAX_WAIT_SECONDS (${Math.round(this.o.maxWaitMs / 1000)} s) away; no ${action} request is sent before then`,
      { vendor: VENDOR, status: 429, retryAfterMs: waitMs },
    );
  }

  /** SDK errors reworded where the setting to change is ours to name. */
  private explain(err: unknown): unknown {
    if (err instanceof RateLimitError) {
      // 429 is accepted above, so a RateLimitError here is our own hourly budget.
      const at =
        err.retryAfterMs === undefined
          ? ''
          : `; the next slot frees up at ${new Date(this.now() + err.retryAfterMs).toISOString()}`;
      return new RateLimitError(
        `urlscan.io request not sent: URLSCAN_RATE_LIMIT_PER_HOUR (${this.o.perHour} requests per hour) is used up${at}`,
        { vendor: VENDOR, retryAfterMs: err.retryAfterMs, method: err.method, url: err.url },
        { cause: err },
      );
    }
    return (
      credentialsRejected(err, (status) =>
        this.o.hasApiKey
          ? `urlscan.io rejected the API key (HTTP ${status}): check URLSCAN_API_KEY`
          : `urlscan.io refused an anonymous request (HTTP ${status}): set URLSCAN_API_KEY`,
      ) ?? err
    );
  }
}

/** ", hour window, limit 100" from urlscan's X-Rate-Limit-Window/-Limit headers, when present. */
function windowOf(headers: Record<string, string>): string {
  const window = headers['x-rate-limit-window'];
  const limit = headers['x-rate-limit-limit'];
  return `${window ? `, ${window} window` : ''}${limit ? `, limit ${limit}` : ''}`;
}
