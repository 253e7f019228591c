/**
 * SpyCloud settings. The names and defaults are the original README's and the Python connector's, so a compose
 * file written for it works unchanged; CONNECTOR_NAME (the author's name) defaults to SpyCloud and
 * CONNECTOR_SCOPE to spycloud through the definition.
 */
import { type ConnectorConfig, env, z } from '@cti/connector-sdk';
import { parseStartDate } from './dates.js';

export const SEVERITY_LEVELS = ['2', '5', '20', '25'] as const;
export const WATCHLIST_TYPES = ['email', 'domain', 'subdomain', 'ip'] as const;
export type WatchlistType = (typeof WATCHLIST_TYPES)[number];

export const spycloudConfig = {
  SPYCLOUD_API_BASE_URL: env.url({
    description: 'SpyCloud API base URL, e.g. https://api.spycloud.io/enterprise-v2/ (the trailing slash is optional)',
  }),
  SPYCLOUD_API_KEY: env.secret({ description: 'SpyCloud API key (the IP address of this host must be allow-listed)' }),
  SPYCLOUD_SEVERITY_LEVELS: env
    .list({
      allowed: SEVERITY_LEVELS,
      description: 'Breach record severities to import, comma-separated among 2, 5, 20, 25; empty imports all',
    })
    .transform((levels) => [...new Set(levels)].map(Number)),
  SPYCLOUD_WATCHLIST_TYPES: env
    .list({
      allowed: WATCHLIST_TYPES,
      lowerCase: true,
      description: 'Watchlist types, one API pass each, among email, domain, subdomain, ip; empty imports all at once',
    })
    .transform((types) => [...new Set(types)]),
  SPYCLOUD_TLP_LEVEL: env.tlp('TLP:AMBER+STRICT', {
    description: 'TLP marking of everything imported: clear (white), green, amber, amber+strict, red',
  }),
  SPYCLOUD_IMPORT_START_DATE: env
    .string({
      default: '1970-01-01T00:00:00Z',
      description:
        'Where the first run (and a run after a state reset) starts: an ISO date-time (years 1-9999), or a duration up to P100Y such as P30D for "30 days ago"',
    })
    .transform((raw, ctx) => {
      try {
        return parseStartDate(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  SPYCLOUD_INCLUDE_PASSWORDS: env.boolean(false, {
    description: 'Show passwords and salts in incident descriptions (masked by default)',
  }),
  SPYCLOUD_TIMEOUT_SECONDS: env.int({
    default: 120,
    min: 1,
    max: 900,
    description: 'Timeout of each SpyCloud request (a page holds up to 1000 records)',
  }),
  SPYCLOUD_MAX_RESPONSE_MB: env.int({
    default: 32,
    min: 1,
    max: 1024,
    description:
      'Largest SpyCloud answer accepted, in MiB (a page of 1000 records is a few MiB); a larger one fails the run instead of taking the memory',
  }),
  CONNECTOR_DURATION_PERIOD: env.duration({
    description: 'Time between two runs, ISO-8601 (PT1H, P1D, P1M), from PT1S to P100Y; 0 runs once',
  }),
};

export type SpycloudConfig = ConnectorConfig<typeof spycloudConfig>;
