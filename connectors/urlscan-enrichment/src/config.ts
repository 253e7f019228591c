/**
 * URLScan settings. The names are a contract: the original README's (OPENCTI_API_URL, OPENCTI_API_KEY,
 * CONNECTOR_SCOPE, CONFIDENCE_LEVEL, CONNECTOR_AUTO, ONLY_ACTIVE_URLS, UPDATE_EXISTING_DATA) with its
 * defaults, and the official urlscan-enrichment connector's URLSCAN_ENRICHMENT_* names as aliases, so a
 * compose file written for either Python connector works unchanged. In config.yml, the official connector's
 * `urlscan_enrichment` section is read as well as `urlscan`.
 */
import { type ConnectorConfig, env, MAX_DURATION_SECONDS, z } from '@cti/connector-sdk';

/** The seed's compose file has no CONNECTOR_ID: this one is fixed, so restarts keep the same connector. */
export const DEFAULT_CONNECTOR_ID = '5ba2e62d-4323-4c0e-a06a-bbb0f9772d3a';

export const VISIBILITIES = ['public', 'unlisted', 'private'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/**
 * urlscan's `date:` filter (Elasticsearch date math): `>now-1y`, `>=2024-01-01`, `[2024-01-01 TO now]`
 * (`*` for an open end), or `none` for no filter.
 */
const NOW = String.raw`now(?:[-+]\d+[smhdwMy])?`;
const DAY = String.raw`\d{4}-\d\d-\d\d(?:T[\d:.]+Z?)?`;
const END = `(?:${NOW}|${DAY})`;
const DATE_FILTER = new RegExp(`^(?:[<>]=?${END}|\\[(?:${END}|\\*) TO (?:${END}|\\*)\\])$`);
const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
  M: 2_592_000,
  y: 31_536_000,
};

/** Why a filter of the right shape still says nothing sensible (a 2024-02-30, a now-99999999y), or null. */
function dateFilterProblem(filter: string): string | null {
  for (const [offset, amount, unit] of filter.matchAll(/now[-+](\d+)([smhdwMy])/g)) {
    if (Number(amount) * (UNIT_SECONDS[unit ?? ''] ?? 0) > MAX_DURATION_SECONDS) {
      return `${offset} reaches further than 100 years`;
    }
  }
  for (const [day, y, m, d] of filter.matchAll(/(\d{4})-(\d\d)-(\d\d)/g)) {
    const date = new Date(0);
    date.setUTCFullYear(Number(y), Number(m) - 1, Number(d));
    if (Number(y) < 1 || date.getUTCMonth() !== Number(m) - 1 || date.getUTCDate() !== Number(d)) {
      return `${day} is not a calendar date`;
    }
  }
  return null;
}

const dateFilter = env
  .string({
    default: '>now-1y',
    aliases: ['URLSCAN_ENRICHMENT_SEARCH_FILTERED_BY_DATE'],
    yaml: ['urlscan.search_filtered_by_date', 'urlscan_enrichment.search_filtered_by_date'],
    description: 'Only scans in this date range are searched (urlscan date: syntax, e.g. >now-7d); none for all',
  })
  .pipe(
    z.string().transform((raw, ctx): string | null => {
      if (raw.toLowerCase() === 'none') return null;
      if (!DATE_FILTER.test(raw)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a urlscan date filter such as >now-1y, >now-30d, >=2024-01-01 or none, got "${raw}"`,
        });
        return z.NEVER;
      }
      const problem = dateFilterProblem(raw);
      if (problem === null) return raw;
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }),
  );

export const urlscanConfig = {
  // The seed's names for the base settings: each pair (OPENCTI_URL/OPENCTI_TOKEN or the seed's) works.
  OPENCTI_URL: env.url({
    default: 'http://localhost:8080',
    aliases: ['OPENCTI_API_URL'],
    description: 'The OpenCTI platform URL',
  }),
  OPENCTI_TOKEN: env.secret({
    aliases: ['OPENCTI_API_KEY'],
    description: 'The API token of the connector user in OpenCTI',
  }),
  CONNECTOR_ID: env.string({
    default: DEFAULT_CONNECTOR_ID,
    description: 'A stable UUIDv4 identifying this connector instance (a fixed default: one instance per platform)',
  }),
  CONNECTOR_AUTO: env.boolean(true, {
    description:
      'Enrich every new observable in scope automatically (never one this connector created in its last enrichment)',
  }),
  CONNECTOR_CONFIDENCE_LEVEL: env.int({
    default: 60,
    min: 0,
    max: 100,
    aliases: ['CONFIDENCE_LEVEL'],
    description: 'Confidence (0-100) of the objects created',
  }),
  CONNECTOR_UPDATE_EXISTING_DATA: env.boolean(true, {
    aliases: ['UPDATE_EXISTING_DATA'],
    description: 'Ask the worker to update existing data (the push message update flag)',
  }),
  ONLY_ACTIVE_URLS: env.boolean(false, {
    // The community connector's config.yml key (its only section is `urlscan`).
    yaml: ['urlscan.only_active_urls'],
    description: 'Use the newest scan whose page answered HTTP 200, skipping newer scans of dead pages',
  }),

  URLSCAN_API_KEY: env.optionalSecret({
    aliases: ['URLSCAN_ENRICHMENT_API_KEY'],
    yaml: ['urlscan.api_key', 'urlscan_enrichment.api_key'],
    description: "urlscan.io API key; without it the search API is used anonymously, at urlscan's lower limits",
  }),
  URLSCAN_API_URL: env.url({
    default: 'https://urlscan.io',
    description: 'urlscan.io base URL (a proxy or a test server)',
  }),
  URLSCAN_MAX_TLP: env.tlp('TLP:AMBER', {
    aliases: ['URLSCAN_ENRICHMENT_MAX_TLP'],
    yaml: ['urlscan.max_tlp', 'urlscan_enrichment.max_tlp'],
    description: 'Do not send any data to urlscan.io when the observable is marked above this TLP',
  }),
  URLSCAN_RATE_LIMIT_PER_HOUR: env.int({
    default: 100,
    min: 1,
    max: 1_000_000,
    description: 'Requests to urlscan.io per hour from this connector (a sliding window; every request counts)',
  }),
  URLSCAN_MAX_WAIT_SECONDS: env.int({
    default: 120,
    min: 0,
    max: 900,
    description:
      'Longest wait for a rate-limit slot or a urlscan quota reset; a longer one fails the enrichment with the reset time',
  }),
  URLSCAN_TIMEOUT_SECONDS: env.int({ default: 30, min: 1, max: 300, description: 'Timeout of each request' }),
  URLSCAN_SEARCH_FILTERED_BY_DATE: dateFilter,
  URLSCAN_CREATE_INDICATOR: env.boolean(true, {
    aliases: ['URLSCAN_ENRICHMENT_CREATE_INDICATOR'],
    yaml: ['urlscan.create_indicator', 'urlscan_enrichment.create_indicator'],
    description: 'An Indicator based-on the observable when the overall verdict is malicious',
  }),
  URLSCAN_IMPORT_SCREENSHOT: env.boolean(true, {
    aliases: ['URLSCAN_ENRICHMENT_IMPORT_SCREENSHOT'],
    yaml: ['urlscan.import_screenshot', 'urlscan_enrichment.import_screenshot'],
    description:
      "Attach the scan's page screenshot (PNG) to the observable as a file; it must be a PNG within URLSCAN_SCREENSHOT_MAX_MB",
  }),
  URLSCAN_SCREENSHOT_MAX_MB: env.int({
    default: 5,
    min: 1,
    max: 10,
    description:
      'Largest screenshot attached, in MiB; a larger one is left out (one broker message carries the observable and its file)',
  }),
  URLSCAN_SUBMIT_SCAN: env.boolean(false, {
    description: 'Submit a new scan when urlscan.io has none (needs URLSCAN_API_KEY; uses the scan quota)',
  }),
  URLSCAN_VISIBILITY: env.enum(VISIBILITIES, {
    default: 'unlisted',
    aliases: ['URLSCAN_ENRICHMENT_VISIBILITY'],
    yaml: ['urlscan.visibility', 'urlscan_enrichment.visibility'],
    description: 'Visibility of submitted scans; public is refused for observables above TLP:GREEN',
  }),
  URLSCAN_SUBMIT_WAIT_SECONDS: env.int({
    default: 120,
    min: 10,
    max: 600,
    description: 'Longest wait for a submitted scan to finish',
  }),
};

export type UrlscanConfig = ConnectorConfig<typeof urlscanConfig>;
