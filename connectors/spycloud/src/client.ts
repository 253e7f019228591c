/**
 * The SpyCloud Enterprise API: `GET breach/data/watchlist` (cursor pagination) and `GET breach/catalog/{id}`,
 * with `X-API-KEY`. Every request has a timeout and a bounded backoff on 429, 5xx and network errors that
 * honours Retry-After. Unlike upstream, a page that still fails after the retries throws: it never reads as
 * an empty last page, so a run cannot silently import less and still move its state forward.
 */
import {
  credentialsRejected,
  type HttpClient,
  type HttpClientOptions,
  type HttpResponse,
  type QueryParams,
  UpstreamApiError,
  z,
} from '@cti/connector-sdk';
import type { SpycloudConfig, WatchlistType } from './config.js';
import { parseIsoDateTime } from './dates.js';

const VENDOR = 'SpyCloud';

const optionalText = z.string().nullish();

/**
 * A breach record. Only what the connector reads is checked; every other field SpyCloud sends is kept (it
 * goes into the incident description).
 */
export const breachRecordSchema = z.looseObject({
  document_id: z.string().min(1),
  source_id: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
  spycloud_publish_date: z.string().refine((v) => parseIsoDateTime(v) !== null, { error: 'not an ISO date-time' }),
  severity: z.union([z.literal(2), z.literal(5), z.literal(20), z.literal(25)]),
  email: optionalText,
  full_name: optionalText,
  ip_addresses: z.array(z.string()).nullish(),
  infected_path: optionalText,
  mac_address: optionalText,
  target_domain: optionalText,
  target_subdomain: optionalText,
  target_url: optionalText,
  user_agent: optionalText,
  user_hostname: optionalText,
  user_os: optionalText,
  username: optionalText,
});

export type BreachRecord = z.output<typeof breachRecordSchema>;

/** A watchlist page. The records are validated one by one, so one odd record does not cost the page. */
export const watchlistPageSchema = z.looseObject({
  cursor: z.string().nullish(),
  hits: z.number().nullish(),
  results: z.array(z.unknown()),
});

type WatchlistPageAnswer = z.output<typeof watchlistPageSchema>;

/** A catalog answer: only the title is used (upstream requires a dozen fields and crashes on a new enum value). */
export const catalogSchema = z.looseObject({
  results: z.array(z.looseObject({ title: z.string().nullish() })),
});

/**
 * Retries: 4 attempts in all (upstream: 3 retries, backoff factor 2), full-jitter backoff from 2 s up to 30 s,
 * and a Retry-After of up to 5 minutes is waited for.
 */
export function spycloudHttpOptions(config: SpycloudConfig): HttpClientOptions {
  return {
    vendor: VENDOR,
    baseURL: config.SPYCLOUD_API_BASE_URL,
    auth: { type: 'header', name: 'X-API-KEY', value: config.SPYCLOUD_API_KEY },
    timeoutMs: config.SPYCLOUD_TIMEOUT_SECONDS * 1000,
    maxResponseBytes: config.SPYCLOUD_MAX_RESPONSE_MB * 1024 * 1024,
    maxResponseSetting: 'SPYCLOUD_MAX_RESPONSE_MB',
    retry: { maxAttempts: 4, baseDelayMs: 2000, maxDelayMs: 30_000, maxRetryAfterMs: 300_000 },
  };
}

export interface WatchlistQuery {
  /** One pass per configured type; null asks for every type at once (the parameter is left out). */
  watchlistType: WatchlistType | null;
  /** Repeated `severity` parameters; empty asks for every severity. */
  severities: readonly number[];
  /** `since`, a UTC day `YYYY-MM-DD`. */
  since: string;
}

export interface InvalidRecord {
  /** Position in the page. */
  index: number;
  documentId: string | null;
  problems: string;
}

export interface WatchlistPage {
  /** 1 for the first page of a pass. */
  number: number;
  /** What SpyCloud says the whole query matches. */
  hits: number | null;
  records: BreachRecord[];
  invalid: InvalidRecord[];
}

export interface SpycloudClientOptions {
  http: HttpClient;
  /** Catalog titles kept for the life of the process (upstream: an lru_cache of 128). */
  catalogCacheSize?: number;
}

export class SpycloudClient {
  private readonly titles = new Map<number, string | null>();
  private readonly cacheSize: number;

  constructor(private readonly o: SpycloudClientOptions) {
    this.cacheSize = Math.max(1, o.catalogCacheSize ?? 1000);
  }

  /**
   * The breach records of one query, page by page: the next page is requested only when the caller asks for
   * it, so memory holds one page however large the watchlist is.
   */
  async *watchlist(query: WatchlistQuery, signal?: AbortSignal): AsyncGenerator<WatchlistPage, void, undefined> {
    const seenCursors = new Set<string>();
    let cursor: string | null = null;
    for (let number = 1; ; number++) {
      const { page, next } = await this.watchlistPage(query, cursor, number, signal);
      yield page;
      if (next === '') return;
      if (seenCursors.has(next)) {
        throw new UpstreamApiError(
          `SpyCloud returned the cursor of an earlier page again (page ${number + 1}): stopping instead of looping`,
          { vendor: VENDOR, retryable: false, reason: 'invalid-response', method: 'GET' },
        );
      }
      seenCursors.add(next);
      cursor = next;
    }
  }

  /**
   * One page, validated. Only what the caller needs leaves this frame: the parsed JSON of the answer is
   * not held (by a suspended generator) while its records are mapped and sent.
   */
  private async watchlistPage(
    query: WatchlistQuery,
    cursor: string | null,
    number: number,
    signal: AbortSignal | undefined,
  ): Promise<{ page: WatchlistPage; next: string }> {
    const params: QueryParams = {
      watchlist_type: query.watchlistType,
      severity: query.severities.length > 0 ? query.severities : null,
      since: query.since,
      cursor,
    };
    const res: HttpResponse<WatchlistPageAnswer> = await this.call(() =>
      this.o.http.get('breach/data/watchlist', {
        params,
        schema: watchlistPageSchema,
        ...(signal ? { signal } : {}),
      }),
    );
    return {
      page: { number, hits: res.data.hits ?? null, ...parseRecords(res.data.results) },
      next: res.data.cursor ?? '',
    };
  }

  /**
   * The title of a breach catalog, or null when SpyCloud has no catalog (or no title) for it. Answers are
   * cached for the life of the process within a bounded size; a failure throws and is not cached.
   */
  async catalogTitle(sourceId: number, signal?: AbortSignal): Promise<string | null> {
    if (this.titles.has(sourceId)) {
      const title = this.titles.get(sourceId) ?? null;
      // Least recently used goes first: re-insert on every hit.
      this.titles.delete(sourceId);
      this.titles.set(sourceId, title);
      return title;
    }
    const res = await this.call(() =>
      this.o.http.get(`breach/catalog/${encodeURIComponent(String(sourceId))}`, {
        schema: catalogSchema,
        ...(signal ? { signal } : {}),
      }),
    );
    const title = res.data.results[0]?.title?.trim() || null;
    this.titles.set(sourceId, title);
    while (this.titles.size > this.cacheSize) {
      const oldest = this.titles.keys().next().value;
      if (oldest === undefined) break;
      this.titles.delete(oldest);
    }
    return title;
  }

  /** Catalog titles currently cached. */
  get cachedCatalogs(): number {
    return this.titles.size;
  }

  /** Turns the two failures SpyCloud documents into messages that say what to do. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      if (!(err instanceof UpstreamApiError)) throw err;
      const where = `${err.method ?? 'GET'} ${err.url ?? ''}`.trim();
      const refused = credentialsRejected(
        err,
        (status) =>
          `SpyCloud refused ${where} (HTTP ${status}): check SPYCLOUD_API_KEY, and that this host's public IP address is on SpyCloud's IP allow-list (SpyCloud answers ${status} to both)`,
      );
      if (refused) throw refused;
      if (err.status === 504) {
        throw new UpstreamApiError(
          `SpyCloud timed out on ${where} (HTTP 504, retried): some filter combinations time out on SpyCloud's side (SPYCLOUD_SEVERITY_LEVELS=5,20 is a known one); choose other SPYCLOUD_SEVERITY_LEVELS or SPYCLOUD_WATCHLIST_TYPES, or ask SpyCloud support about this combination`,
          { vendor: VENDOR, status: 504, retryable: true, reason: 'http', method: err.method, url: err.url },
          { cause: err },
        );
      }
      throw err;
    }
  }
}

/** Validates each record of a page on its own. */
export function parseRecords(results: readonly unknown[]): { records: BreachRecord[]; invalid: InvalidRecord[] } {
  const records: BreachRecord[] = [];
  const invalid: InvalidRecord[] = [];
  results.forEach((raw, index) => {
    const parsed = breachRecordSchema.safeParse(raw);
    if (parsed.success) {
      records.push(parsed.data);
      return;
    }
    const id = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).document_id : undefined;
    invalid.push({
      index,
      documentId: typeof id === 'string' ? id : null,
      problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; '),
    });
  });
  return { records, invalid };
}
