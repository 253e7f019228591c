/**
 * The STIX-emitting Pure Signal Scout API: `GET /ip/foundation?ips=<ip>` for IPv4/IPv6 and
 * `GET /search?query=<domain>` for domains, with `Authorization: Bearer <token>`. Both answer a STIX 2.1
 * bundle, checked structurally here before the mapping reads it.
 *
 * Upstream turns every failure into "no data"; here nothing is swallowed: 401/403 fail at once saying the
 * token was rejected, 429 backs off (Retry-After) a bounded number of times and then fails with "quota
 * exhausted", 5xx and network errors are retried a bounded number of times, every request has a timeout,
 * and requests are spaced to the documented 1 per second. Only an empty answer (204, empty body, `{}`,
 * no objects) means "nothing known".
 */
import { isIP } from 'node:net';
import {
  credentialsRejected,
  type HttpClient,
  type HttpClientOptions,
  InputError,
  RateLimitError,
  z,
} from '@cti/connector-sdk';
import type { ScoutConfig } from './config.js';

export const SCOUT_VENDOR = 'Team Cymru Scout';

const STIX_ID =
  /^([a-z0-9][a-z0-9-]*[a-z0-9]|[a-z0-9])--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One STIX object: a type and an id of that type. Relationships must name their type and both ends, the
 * only other fields the mapping reads; everything else passes through untouched.
 */
export const scoutObjectSchema = z
  .looseObject({
    type: z.string().min(1),
    id: z.string().regex(STIX_ID, { error: 'expected a STIX id <type>--<uuid>' }),
  })
  .superRefine((object, ctx) => {
    if (!object.id.startsWith(`${object.type}--`)) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: `the id does not match the type '${object.type}'` });
    }
    if (object.type !== 'relationship') return;
    for (const field of ['relationship_type', 'source_ref', 'target_ref'] as const) {
      const value = object[field];
      if (typeof value !== 'string' || value === '') {
        ctx.addIssue({ code: 'custom', path: [field], message: 'a relationship needs it as a non-empty string' });
      }
    }
  });

export type ScoutObject = z.output<typeof scoutObjectSchema>;

function isEmptyAnswer(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}

/** A STIX 2.1 bundle; an empty answer (no body, `null`, `{}`) reads as a bundle without objects. */
export const scoutBundleSchema = z.preprocess(
  (value) => (isEmptyAnswer(value) ? { type: 'bundle', objects: [] } : value),
  z.looseObject({
    type: z.literal('bundle'),
    id: z.string().optional(),
    objects: z
      .array(scoutObjectSchema)
      .nullish()
      .transform((objects) => objects ?? []),
  }),
);

export type ScoutBundle = z.output<typeof scoutBundleSchema>;

/**
 * The vendor client settings: bearer token, a timeout on every request, the per-second spacing, and
 * bounded retries on 429 (honouring Retry-After), 5xx and network errors.
 */
export function scoutHttpOptions(config: ScoutConfig): HttpClientOptions {
  return {
    vendor: SCOUT_VENDOR,
    baseURL: config.PURE_SIGNAL_SCOUT_API_URL,
    auth: { type: 'bearer', token: config.PURE_SIGNAL_SCOUT_API_TOKEN },
    headers: { 'content-type': 'application/json' },
    timeoutMs: config.PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS * 1000,
    // Details of a busy IP run to about 1 MB.
    maxResponseBytes: 16 * 1024 * 1024,
    rateLimit: { perSecond: config.PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND },
    retry: {
      maxAttempts: config.PURE_SIGNAL_SCOUT_MAX_RETRIES + 1,
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      // A longer Retry-After is not waited for: the enrichment fails with "quota exhausted" at once.
      maxRetryAfterMs: 120_000,
    },
  };
}

export interface ScoutClientOptions {
  http: HttpClient;
  now?: () => number;
}

/** What Scout is asked for each entity type. */
export type ScoutQuery =
  | { path: '/ip/foundation'; params: { ips: string } }
  | { path: '/search'; params: { query: string } };

/** The request for an entity, or an InputError for a value or type Scout cannot be asked about. */
export function scoutQuery(entityType: string, value: string): ScoutQuery {
  const v = value.trim();
  switch (entityType.toLowerCase()) {
    case 'ipv4-addr':
    case 'ipv6-addr': {
      const version = isIP(v);
      const expected = entityType.toLowerCase() === 'ipv4-addr' ? 4 : 6;
      if (version !== expected) {
        throw new InputError(`Not a single IPv${expected} address: "${value}" (Scout looks up one address)`);
      }
      return { path: '/ip/foundation', params: { ips: v } };
    }
    case 'domain-name':
      if (v === '' || /[\s,/]/.test(v)) throw new InputError(`Not a domain name: "${value}"`);
      return { path: '/search', params: { query: v } };
    default:
      throw new InputError(`Team Cymru Scout enriches IPv4-Addr, IPv6-Addr and Domain-Name, not ${entityType}`);
  }
}

export class ScoutClient {
  /** Set from a 429's Retry-After: until then lookups fail at once instead of spending the quota again. */
  private quotaExhaustedUntil = 0;
  private readonly now: () => number;

  constructor(private readonly o: ScoutClientOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Scout's STIX bundle about an IP or a domain; `objects` is empty when Scout knows nothing. */
  async lookup(entityType: string, value: string, signal?: AbortSignal): Promise<ScoutBundle> {
    const query = scoutQuery(entityType, value);
    if (this.now() < this.quotaExhaustedUntil) throw this.quotaError(this.quotaExhaustedUntil - this.now());
    try {
      const res = await this.o.http.get(query.path, {
        params: query.params,
        schema: scoutBundleSchema,
        ...(signal ? { signal } : {}),
      });
      return res.data;
    } catch (err) {
      if (err instanceof RateLimitError && err.status === 429) {
        if (err.retryAfterMs !== undefined) this.quotaExhaustedUntil = this.now() + err.retryAfterMs;
        throw this.quotaError(err.retryAfterMs, err);
      }
      throw (
        credentialsRejected(
          err,
          (status) => `Team Cymru Scout rejected the API token (HTTP ${status}): check PURE_SIGNAL_SCOUT_API_TOKEN`,
        ) ?? err
      );
    }
  }

  private quotaError(waitMs: number | undefined, cause?: unknown): RateLimitError {
    const when =
      waitMs === undefined ? 'retry later' : `no lookup is sent before ${new Date(this.now() + waitMs).toISOString()}`;
    return new RateLimitError(
      `Team Cymru Scout quota exhausted (HTTP 429): ${when}`,
      { vendor: SCOUT_VENDOR, status: 429, retryAfterMs: waitMs },
      cause === undefined ? undefined : { cause },
    );
  }
}
