/**
 * The TeamT5 ThreatVision API: an OAuth 2.0 client-credentials token (or the deprecated static key) as a
 * Bearer header, two offset-paginated listings (`/api/v2/reports`, `/api/v2/ioc_bundles`, filtered with
 * `date[from]`), and each item's STIX bundle from its `stix_url`.
 *
 * Unlike upstream: requests are retried with backoff and Retry-After (upstream retries at once, and not on
 * 429), every request has a timeout, a 401 refreshes the token once before failing with an auth error, the
 * token never leaves TeamT5's API origin (upstream sends it to whatever host a `stix_url` names), and the
 * listing is streamed page by page instead of collected whole.
 */
import {
  type HttpAuth,
  type HttpClient,
  type HttpClientOptions,
  type HttpLogger,
  type HttpRequestOptions,
  type HttpResponse,
  redactString,
  redactUrl,
  registerSecret,
  sleep,
  UpstreamApiError,
  type UpstreamApiErrorDetails,
  z,
} from '@cti/connector-sdk';
import type { Teamt5Auth, Teamt5Config } from './config.js';
import { LATEST_UNIX_SECONDS } from './state.js';

export const VENDOR = 'TeamT5';

/** Upstream sleeps one second after every listing page. */
export const PAGE_INTERVAL_MS = 1000;
/** Upstream gives up a listing after five failed pages in a row. */
export const MAX_PAGE_ATTEMPTS = 5;
/** A token is renewed this long before it expires (upstream's margin). */
export const TOKEN_REFRESH_MARGIN_SECONDS = 60;
const DEFAULT_EXPIRES_IN_SECONDS = 3600;

/** Unix seconds, as a number or a string of digits. */
const unixSeconds = z
  .union([z.number(), z.string().regex(/^\s*\d+\s*$/)])
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .nonnegative()
      .max(LATEST_UNIX_SECONDS, { error: 'a date after 9999-12-31 (milliseconds instead of seconds?)' }),
  );

const optionalText = z
  .string()
  .nullish()
  .transform((v) => (v === undefined || v === null || v.trim() === '' ? null : v));

export const tokenSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z
    .union([
      z.number(),
      z
        .string()
        .regex(/^\s*\d+\s*$/)
        .transform(Number),
    ])
    .nullish(),
});

/** A `/api/v2/reports` item: the fields the connector reads; anything else is tolerated. */
export const reportRefSchema = z.looseObject({
  // Kept as TeamT5 wrote it (upstream's Report name); pycti's id strips it anyway.
  title: z.string().refine((v) => v.trim() !== '', { message: 'must not be empty' }),
  alias: optionalText,
  digest: optionalText,
  date: unixSeconds,
  type_name: optionalText,
  stix_url: optionalText,
  pdf_url: optionalText,
});

/** A `/api/v2/ioc_bundles` item. `csv_url` and `txt_url` are not used. */
export const indicatorBundleRefSchema = z.looseObject({
  id: z.union([z.number(), z.string().min(1)]).transform(String),
  created_at: unixSeconds.nullish(),
  stix_url: optionalText,
});

/** A downloaded bundle: its objects are checked by the mapping, which names every problem. */
export const stixDownloadSchema = z.looseObject({ objects: z.array(z.unknown()) });

const listingSchema = (key: string) =>
  z.looseObject({
    success: z.unknown(),
    message: z.unknown().optional(),
    [key]: z.array(z.unknown()).nullish(),
  });

export interface ReportRef {
  title: string;
  alias: string | null;
  digest: string | null;
  /** Publication date, unix seconds. */
  date: number;
  typeName: string | null;
  /** The listing's `stix_url`, else `{base}/api/v2/reports/{alias}.stix`; null when neither exists. */
  stixUrl: string | null;
  pdfUrl: string | null;
}

export interface IndicatorBundleRef {
  id: string;
  /** `created_at`, unix seconds, when given. */
  date: number | null;
  stixUrl: string | null;
}

/** One listing item: readable, or the reason it is not (reported on the work and skipped). */
export type Listed<T> = { ok: true; ref: T } | { ok: false; label: string; date: number | null; problem: string };

/** TeamT5 refused the credentials: every later request would fail too, so the run stops. */
export class Teamt5AuthError extends UpstreamApiError {
  override readonly code: string = 'TEAMT5_AUTH';

  constructor(message: string, details: Omit<UpstreamApiErrorDetails, 'vendor' | 'reason'>, cause?: unknown) {
    super(redactString(message), { ...details, vendor: VENDOR, reason: 'auth' }, cause === undefined ? {} : { cause });
  }
}

type ClientHttpOptions = Omit<HttpClientOptions, 'logger' | 'signal'>;

/**
 * The API client settings: the Bearer header (a function for OAuth, renewed before every attempt that
 * carries it), credentials only to the API's own host, a timeout on every request, and bounded retries with
 * exponential backoff and Retry-After on 429, 5xx and network errors.
 */
export function teamt5HttpOptions(config: Teamt5Config, auth: HttpAuth = { type: 'none' }): ClientHttpOptions {
  return {
    vendor: VENDOR,
    baseURL: config.TEAMT5_API_BASE_URL,
    auth,
    timeoutMs: config.TEAMT5_TIMEOUT_SECONDS * 1000,
    maxResponseBytes: config.TEAMT5_MAX_RESPONSE_MB * 1024 * 1024,
    maxResponseSetting: 'TEAMT5_MAX_RESPONSE_MB',
    retry: { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 },
  };
}

/** The token endpoint's client: no Authorization header (the credentials travel in the form body). */
export function teamt5TokenHttpOptions(config: Teamt5Config, tokenUrl: string): ClientHttpOptions {
  return {
    vendor: VENDOR,
    baseURL: tokenUrl,
    auth: { type: 'none' },
    timeoutMs: Math.min(config.TEAMT5_TIMEOUT_SECONDS, 30) * 1000,
    // A token answer is a few hundred bytes.
    maxResponseBytes: 1024 * 1024,
    retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 },
  };
}

export interface OAuthTokenSourceOptions {
  http: HttpClient;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  now?: () => number;
  logger?: HttpLogger | undefined;
}

/**
 * OAuth 2.0 client credentials: a form POST to the token URL, the token kept until `expires_in` − 60 s.
 * Concurrent callers share one request. The token is registered as a secret the moment it arrives.
 */
export class OAuthTokenSource {
  private token: { value: string; renewAt: number } | null = null;
  private pending: Promise<string> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: OAuthTokenSourceOptions) {
    this.now = o.now ?? Date.now;
  }

  /** A valid token, requested when there is none or it is about to expire. */
  async current(signal?: AbortSignal): Promise<string> {
    if (this.token !== null && this.now() < this.token.renewAt) return this.token.value;
    this.pending ??= this.request(signal).finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /** Forgets the token (TeamT5 answered 401 with it): the next call requests a new one. */
  invalidate(): void {
    this.token = null;
  }

  private async request(signal?: AbortSignal): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.o.clientId,
      client_secret: this.o.clientSecret,
    });
    let answer: HttpResponse<z.output<typeof tokenSchema>>;
    try {
      // A token request changes nothing on the server: repeating it after a 5xx is safe.
      answer = await this.o.http.post(this.o.tokenUrl, form, {
        schema: tokenSchema,
        idempotent: true,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw tokenError(err, this.o.tokenUrl);
    }
    const value = answer.data.access_token;
    registerSecret(value);
    const expiresIn = answer.data.expires_in ?? DEFAULT_EXPIRES_IN_SECONDS;
    this.token = {
      value,
      renewAt: this.now() + Math.max(0, expiresIn - TOKEN_REFRESH_MARGIN_SECONDS) * 1000,
    };
    this.o.logger?.debug({ vendor: VENDOR, expiresInSeconds: expiresIn }, 'new TeamT5 OAuth token');
    return value;
  }
}

function tokenError(err: unknown, tokenUrl: string): Teamt5AuthError {
  const where = redactUrl(tokenUrl);
  if (err instanceof UpstreamApiError && err.status !== undefined && [400, 401, 403].includes(err.status)) {
    return new Teamt5AuthError(
      `TeamT5 refused the OAuth client credentials (HTTP ${err.status} from POST ${where}): check TEAMT5_CLIENT_ID and TEAMT5_CLIENT_SECRET`,
      { status: err.status, retryable: false, method: 'POST', url: where },
      err,
    );
  }
  const why = err instanceof Error ? err.message : String(err);
  return new Teamt5AuthError(
    `No TeamT5 OAuth token (POST ${where}): ${why}`,
    {
      status: err instanceof UpstreamApiError ? err.status : undefined,
      retryable: err instanceof UpstreamApiError ? err.retryable : true,
      method: 'POST',
      url: where,
    },
    err,
  );
}

export interface Teamt5ClientOptions {
  config: Teamt5Config;
  auth: Teamt5Auth;
  /** Builds an HTTP client: the SDK's `http` in the connector, `createHttpClientWith` in tests. */
  http: (options: ClientHttpOptions) => HttpClient;
  logger?: HttpLogger | undefined;
  now?: () => number;
  /** The wait between listing pages and before a failed page is asked again. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function isStatus(err: unknown, status: number): err is UpstreamApiError {
  return err instanceof UpstreamApiError && err.status === status;
}

/** The auth function's failure comes wrapped by the HTTP client; the token source's own error is clearer. */
function unwrapTokenError(err: unknown): unknown {
  return err instanceof UpstreamApiError && err.cause instanceof Teamt5AuthError ? err.cause : err;
}

export class Teamt5Client {
  private readonly api: HttpClient;
  private readonly tokens: OAuthTokenSource | null;
  private readonly base: URL;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly closeables: HttpClient[] = [];

  constructor(private readonly o: Teamt5ClientOptions) {
    this.base = new URL(o.config.TEAMT5_API_BASE_URL);
    this.sleep = o.sleep ?? sleep;
    if (o.auth.kind === 'oauth') {
      const { tokenUrl, clientId, clientSecret } = o.auth;
      const tokenHttp = o.http(teamt5TokenHttpOptions(o.config, tokenUrl));
      this.closeables.push(tokenHttp);
      const tokens = new OAuthTokenSource({
        http: tokenHttp,
        tokenUrl,
        clientId,
        clientSecret,
        ...(o.now ? { now: o.now } : {}),
        logger: o.logger,
      });
      this.tokens = tokens;
      this.api = o.http(
        teamt5HttpOptions(o.config, async () => ({ authorization: `Bearer ${await tokens.current()}` })),
      );
    } else {
      this.tokens = null;
      this.api = o.http(teamt5HttpOptions(o.config, { type: 'bearer', token: o.auth.apiKey }));
    }
    this.closeables.push(this.api);
  }

  /** Gets the first OAuth token (at start-up, as upstream): wrong credentials stop the connector at once. */
  async authenticate(signal?: AbortSignal): Promise<void> {
    await this.tokens?.current(signal);
  }

  /** Reports published since `since` (unix seconds), newest first, one page in memory at a time. */
  listReports(since: number, signal?: AbortSignal): AsyncGenerator<Listed<ReportRef>> {
    return this.list('/api/v2/reports', 'reports', 'report', since, signal, (raw, index) => {
      const parsed = reportRefSchema.safeParse(raw);
      if (!parsed.success) return unreadable('report', raw, index, parsed.error, 'date');
      const r = parsed.data;
      const fallback = r.alias === null ? null : `${this.apiRoot()}/api/v2/reports/${encodeURIComponent(r.alias)}.stix`;
      return {
        ok: true,
        ref: {
          title: r.title,
          alias: r.alias,
          digest: r.digest,
          date: r.date,
          typeName: r.type_name,
          stixUrl: r.stix_url ?? fallback,
          pdfUrl: r.pdf_url,
        },
      };
    });
  }

  /** Indicator (IOC) bundles created since `since` (unix seconds), newest first. */
  listIndicatorBundles(since: number, signal?: AbortSignal): AsyncGenerator<Listed<IndicatorBundleRef>> {
    return this.list('/api/v2/ioc_bundles', 'ioc_bundles', 'indicator bundle', since, signal, (raw, index) => {
      const parsed = indicatorBundleRefSchema.safeParse(raw);
      if (!parsed.success) return unreadable('indicator bundle', raw, index, parsed.error, 'created_at');
      const b = parsed.data;
      return { ok: true, ref: { id: b.id, date: b.created_at ?? null, stixUrl: b.stix_url } };
    });
  }

  /**
   * The objects of the STIX bundle at `url`. The token goes only to the API's own origin (scheme, host and
   * port); another gets the request without it, or none at all with TEAMT5_FOREIGN_STIX_URLS=refuse.
   */
  async downloadBundle(url: string, signal?: AbortSignal): Promise<unknown[]> {
    let target: URL;
    try {
      target = new URL(url, `${this.apiRoot()}/`);
    } catch {
      throw new UpstreamApiError(`TeamT5 gave a stix_url that is not a URL: ${redactString(url)}`, {
        vendor: VENDOR,
        retryable: false,
        reason: 'invalid-response',
      });
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      throw new UpstreamApiError(`TeamT5 gave a stix_url that is not http(s): ${redactUrl(target.href)}`, {
        vendor: VENDOR,
        retryable: false,
        reason: 'invalid-response',
      });
    }
    // The SDK client's own rule, asked here too so that a 401 from another origin is not blamed on the token.
    const own = this.api.sendsCredentialsTo(target);
    if (!own) {
      if (this.o.config.TEAMT5_FOREIGN_STIX_URLS === 'refuse') {
        throw new UpstreamApiError(
          `Refused to fetch ${redactUrl(target.href)}: ${target.origin} is not the TeamT5 API's origin (${this.base.origin}) and TEAMT5_FOREIGN_STIX_URLS=refuse`,
          { vendor: VENDOR, retryable: false, reason: 'foreign-host', method: 'GET', url: redactUrl(target.href) },
        );
      }
      this.o.logger?.debug(
        { vendor: VENDOR, host: target.host },
        "stix_url outside the TeamT5 API's origin: fetched without the token",
      );
    }
    const res = await this.get(target.href, { schema: stixDownloadSchema, withAuth: own }, own, signal);
    return res.data.objects;
  }

  async close(): Promise<void> {
    await Promise.all(this.closeables.map((c) => c.close()));
  }

  private apiRoot(): string {
    return this.o.config.TEAMT5_API_BASE_URL.replace(/\/+$/, '');
  }

  /** A GET; with the token, a 401 renews it once (OAuth) before failing with an auth error. */
  private async get<T>(
    url: string,
    options: HttpRequestOptions<T>,
    withToken: boolean,
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse<T>> {
    const send = async (): Promise<HttpResponse<T>> => {
      // Asked first so a token failure surfaces as itself rather than wrapped by the HTTP client.
      if (withToken) await this.tokens?.current(signal);
      try {
        return await this.api.get<T>(url, { ...options, ...(signal ? { signal } : {}) });
      } catch (err) {
        throw unwrapTokenError(err);
      }
    };
    try {
      return await send();
    } catch (err) {
      if (!withToken || !isStatus(err, 401)) throw err;
      const details = { status: 401, retryable: false, method: 'GET', url: err.url };
      if (this.tokens === null) {
        throw new Teamt5AuthError(
          `TeamT5 rejected TEAMT5_API_KEY (HTTP 401 for GET ${err.url ?? ''}): the key is wrong or expired; TEAMT5_CLIENT_ID and TEAMT5_CLIENT_SECRET (OAuth) replace it`,
          details,
          err,
        );
      }
      this.o.logger?.info({ vendor: VENDOR }, 'TeamT5 answered 401: asking once for a new OAuth token');
      this.tokens.invalidate();
      try {
        return await send();
      } catch (again) {
        if (!isStatus(again, 401)) throw again;
        throw new Teamt5AuthError(
          `TeamT5 rejected a freshly issued OAuth token (HTTP 401 for GET ${again.url ?? ''}): check that the client TEAMT5_CLIENT_ID may use the ThreatVision API`,
          { ...details, url: again.url },
          again,
        );
      }
    }
  }

  /**
   * Offset pagination until an empty page, as upstream: `offset` counts the items received so far. A page
   * answered `success:false` is asked again with backoff, up to five times. The next page is asked for only
   * once the consumer has handled this one, and at least a second later.
   */
  private async *list<T>(
    path: string,
    key: string,
    what: string,
    since: number,
    signal: AbortSignal | undefined,
    read: (raw: unknown, index: number) => Listed<T>,
  ): AsyncGenerator<Listed<T>> {
    let offset = 0;
    let previousPage: string | null = null;
    while (true) {
      const page = await this.page(path, key, what, offset, since, signal);
      if (page.length === 0) return;
      // An API that ignored `offset` would loop for ever; the same page twice in a row stops the listing.
      const fingerprint = JSON.stringify(page);
      if (fingerprint === previousPage) {
        throw new UpstreamApiError(
          `TeamT5 answered the same ${what} page for offset ${offset} as for the previous one: the listing cannot advance`,
          { vendor: VENDOR, retryable: false, reason: 'invalid-response', method: 'GET', url: path },
        );
      }
      previousPage = fingerprint;
      for (const [i, raw] of page.entries()) yield read(raw, offset + i);
      offset += page.length;
      await this.sleep(PAGE_INTERVAL_MS, signal);
    }
  }

  private async page(
    path: string,
    key: string,
    what: string,
    offset: number,
    since: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown[]> {
    const schema = listingSchema(key);
    for (let attempt = 1; ; attempt++) {
      const res = await this.get(path, { schema, params: { offset, 'date[from]': since } }, true, signal);
      if (res.data.success === true) return (res.data[key] as unknown[] | null | undefined) ?? [];
      const said = typeof res.data.message === 'string' ? `: "${redactString(res.data.message).slice(0, 200)}"` : '';
      if (attempt >= MAX_PAGE_ATTEMPTS) {
        throw new UpstreamApiError(
          `TeamT5 answered success:false to the ${what} listing (offset ${offset}) ${attempt} times in a row${said}`,
          { vendor: VENDOR, status: res.status, retryable: true, reason: 'http', method: 'GET', url: res.url },
        );
      }
      const waitMs = Math.min(30_000, PAGE_INTERVAL_MS * 2 ** (attempt - 1));
      this.o.logger?.warn(
        { vendor: VENDOR, offset, attempt, waitMs },
        `TeamT5 answered success:false to the ${what} listing${said}; asking again`,
      );
      await this.sleep(waitMs, signal);
    }
  }
}

/** A listing item that cannot be read: named by what it has (alias, title, id) or its position. */
function unreadable<T>(what: string, raw: unknown, index: number, error: z.ZodError, dateKey: string): Listed<T> {
  const record = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const name = [record.alias, record.id, record.title].find((v) => typeof v === 'string' || typeof v === 'number');
  const label = name === undefined ? `${what} #${index + 1} of the listing` : `${what} ${String(name)}`;
  const date = unixSeconds.safeParse(record[dateKey]);
  const problem = error.issues.map((i) => `${i.path.join('.') || 'item'}: ${i.message}`).join('; ');
  return { ok: false, label, date: date.success ? date.data : null, problem: `unreadable listing item (${problem})` };
}
