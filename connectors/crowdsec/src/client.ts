/**
 * The CrowdSec CTI API: `GET /v2/smoke/{ip}` with `x-api-key`.
 * 404 means CrowdSec does not know the IP. 429 means the quota is used up (the free key has 50 lookups a
 * day): the SDK client backs off within CROWDSEC_QUOTA_BACKOFF_SECONDS, after which every lookup fails fast
 * for as long, instead of hammering the API. 401/403 fail at once (upstream retries them forever).
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
import type { CrowdsecConfig } from './config.js';

const nullableList = <T extends z.ZodType>(item: T) =>
  // CTI sometimes answers null or the string "None" instead of an empty list.
  z
    .union([z.array(item), z.null(), z.literal('None')])
    .optional()
    .transform((v) => (Array.isArray(v) ? v : []));

const named = z.looseObject({
  name: z.string(),
  label: z
    .string()
    .nullish()
    .transform((v) => v ?? ''),
  description: z
    .string()
    .nullish()
    .transform((v) => v ?? ''),
});

/** The fields of the smoke answer the connector reads; anything else is tolerated and ignored. */
export const smokeSchema = z.looseObject({
  ip: z.string(),
  reputation: z
    .string()
    .nullish()
    .transform((v) => v ?? 'unknown'),
  confidence: z.string().nullish(),
  behaviors: nullableList(named),
  mitre_techniques: nullableList(named),
  attack_details: nullableList(named),
  references: nullableList(
    z.looseObject({
      name: z.string().nullish(),
      label: z
        .string()
        .nullish()
        .transform((v) => v ?? ''),
      description: z
        .string()
        .nullish()
        .transform((v) => v ?? ''),
      references: z.array(z.string()).nullish(),
    }),
  ),
  cves: nullableList(z.string()),
  history: z.looseObject({ first_seen: z.string().nullish(), last_seen: z.string().nullish() }).nullish(),
  target_countries: z.record(z.string(), z.number()).nullish(),
  location: z.looseObject({ country: z.string().nullish(), city: z.string().nullish() }).nullish(),
});

export type SmokeAnswer = z.output<typeof smokeSchema>;

/**
 * The vendor client settings: `x-api-key`, a timeout on every request, and a bounded exponential backoff
 * on 429 and 5xx (the seed promises backoff on quota; upstream has none on 429 and retries 4xx forever).
 */
export function crowdsecHttpOptions(config: CrowdsecConfig): HttpClientOptions {
  const budgetMs = config.CROWDSEC_QUOTA_BACKOFF_SECONDS * 1000;
  return {
    vendor: 'CrowdSec',
    baseURL: config.CROWDSEC_API_URL,
    auth: { type: 'header', name: 'x-api-key', value: config.CROWDSEC_KEY },
    timeoutMs: config.CROWDSEC_TIMEOUT_SECONDS * 1000,
    // A smoke answer is about 10 KB: anything near this cap is not CrowdSec answering.
    maxResponseBytes: 2 * 1024 * 1024,
    retry: {
      maxAttempts: 4,
      baseDelayMs: 1000,
      // Three waits of at most a third of the budget each: the whole backoff stays within it.
      maxDelayMs: Math.max(1000, Math.floor(budgetMs / 3)),
      maxRetryAfterMs: Math.max(1000, Math.floor(budgetMs / 3)),
    },
  };
}

export type SmokeResult = { found: true; data: SmokeAnswer } | { found: false };

export interface CrowdsecClientOptions {
  http: HttpClient;
  apiVersion: string;
  /** How long lookups fail fast after the quota was found exhausted. */
  quotaWindowMs: number;
  now?: () => number;
}

export class CrowdsecClient {
  private quotaExhaustedUntil = 0;
  private readonly now: () => number;

  constructor(private readonly o: CrowdsecClientOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The CTI smoke answer for an IP, or `found: false` when CrowdSec does not know it. */
  async smoke(ip: string, signal?: AbortSignal): Promise<SmokeResult> {
    if (isIP(ip) === 0) throw new InputError(`Invalid IP address: ${ip}`);
    if (this.now() < this.quotaExhaustedUntil) throw this.quotaError(this.quotaExhaustedUntil - this.now());
    try {
      const res = await this.o.http.get(`/${this.o.apiVersion}/smoke/${encodeURIComponent(ip)}`, {
        schema: smokeSchema,
        acceptStatus: [404],
        ...(signal ? { signal } : {}),
      });
      if (!res.ok) return { found: false };
      return { found: true, data: res.data };
    } catch (err) {
      if (err instanceof RateLimitError) {
        const waitMs = Math.max(err.retryAfterMs ?? 0, this.o.quotaWindowMs);
        this.quotaExhaustedUntil = this.now() + waitMs;
        throw this.quotaError(waitMs, err);
      }
      throw (
        credentialsRejected(err, (status) => `CrowdSec rejected the API key (HTTP ${status}): check CROWDSEC_KEY`) ??
        err
      );
    }
  }

  private quotaError(waitMs: number, cause?: unknown): RateLimitError {
    const until = new Date(this.now() + waitMs).toISOString();
    return new RateLimitError(
      `CrowdSec CTI quota exhausted (HTTP 429): no lookup is sent before ${until}; see https://www.crowdsec.net/pricing`,
      { vendor: 'CrowdSec', status: 429, retryAfterMs: waitMs },
      cause === undefined ? undefined : { cause },
    );
  }
}
