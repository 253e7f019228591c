/**
 * Team Cymru Scout settings. The names are a contract: the original README's (PURE_SIGNAL_SCOUT_API_URL,
 * PURE_SIGNAL_SCOUT_API_TOKEN, PURE_SIGNAL_SCOUT_MAX_TLP) with the upstream code defaults, so a compose file
 * written for the Python connector works unchanged. The rate limit, timeout and retry settings are new:
 * upstream has none of them (no limit, a 1000 s timeout, no retry).
 */
import { type ConnectorConfig, env } from '@cti/connector-sdk';

export const SCOUT_SCOPE = ['IPv4-Addr', 'IPv6-Addr', 'Domain-Name'] as const;

/** Upstream's config.yml section is connectors-sdk's `pure_signal_scout`, which holds `_`: each key is declared. */
export const scoutConfig = {
  CONNECTOR_SCOPE: env.list<string>({
    default: SCOUT_SCOPE,
    description: 'The types offered for enrichment: IPv4-Addr, IPv6-Addr, Domain-Name',
  }),
  PURE_SIGNAL_SCOUT_API_URL: env.url({
    yaml: ['pure_signal_scout.api_url'],
    default: 'https://taxii.cymru.com/api/scout',
    description: 'Base URL of the STIX-emitting Scout API (a trailing slash is ignored)',
  }),
  PURE_SIGNAL_SCOUT_API_TOKEN: env.secret({
    yaml: ['pure_signal_scout.api_token'],
    description: 'Bearer token for the Scout API',
  }),
  PURE_SIGNAL_SCOUT_MAX_TLP: env.tlp('TLP:AMBER', {
    yaml: ['pure_signal_scout.max_tlp'],
    description: 'Do not send any value to Scout when the observable is marked above this TLP',
  }),
  PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: env.number({
    yaml: ['pure_signal_scout.rate_limit_per_second'],
    default: 1,
    min: 0.01,
    max: 100,
    description:
      'Requests per second to Scout (0.5 = one every 2 seconds); per process, or shared by every replica with CONNECTOR_RATE_LIMIT_REDIS_URL',
  }),
  PURE_SIGNAL_SCOUT_TIMEOUT_SECONDS: env.int({
    yaml: ['pure_signal_scout.timeout_seconds'],
    default: 30,
    min: 1,
    max: 1000,
    description: 'Timeout of each Scout request',
  }),
  PURE_SIGNAL_SCOUT_MAX_RETRIES: env.int({
    yaml: ['pure_signal_scout.max_retries'],
    default: 3,
    min: 0,
    max: 10,
    description: 'Retries of a request after HTTP 429 (honouring Retry-After), 5xx or a network error',
  }),
};

export type ScoutConfig = ConnectorConfig<typeof scoutConfig>;
