/**
 * TeamT5 settings. The names are a contract: the original README's and the upstream connectors-sdk settings
 * (TEAMT5_*), with the upstream defaults, so a compose file written for the Python connector works
 * unchanged. Two settings are this port's own: the foreign stix_url rule and the request timeout.
 */
import { ConfigError, type ConfigIssue, type ConnectorConfig, env } from '@cti/connector-sdk';
import { LATEST_UNIX_SECONDS } from './state.js';

export const DEFAULT_CONNECTOR_NAME = 'TeamT5 External Import Connector';
export const FOREIGN_STIX_URL_RULES = ['fetch-without-token', 'refuse'] as const;

export const teamt5Config = {
  CONNECTOR_NAME: env.string({
    minLength: 2,
    default: DEFAULT_CONNECTOR_NAME,
    description: 'The name shown in OpenCTI, and the author organisation of everything imported',
  }),
  CONNECTOR_DURATION_PERIOD: env.duration({
    default: 'P1D',
    description: 'Time between two import runs, ISO-8601 (PT6H, P1D, P1M), from PT1S to P100Y; 0 runs once',
  }),
  TEAMT5_API_BASE_URL: env.url({
    default: 'https://api.threatvision.org',
    description: 'TeamT5 ThreatVision API base URL; the only host that receives the token',
  }),
  TEAMT5_CLIENT_ID: env.optionalSecret({ description: 'OAuth 2.0 client id (with TEAMT5_CLIENT_SECRET)' }),
  TEAMT5_CLIENT_SECRET: env.optionalSecret({ description: 'OAuth 2.0 client secret (with TEAMT5_CLIENT_ID)' }),
  TEAMT5_API_KEY: env.optionalSecret({
    description: 'Deprecated: a static Bearer token; used only when the OAuth client credentials are not set',
  }),
  TEAMT5_OAUTH_TOKEN_URL: env
    .url({ keepTrailingSlash: true, description: 'OAuth 2.0 token URL; default <TEAMT5_API_BASE_URL>/oauth/token' })
    .optional(),
  TEAMT5_TLP_LEVEL: env.tlp('TLP:CLEAR', {
    description: 'TLP marking added to everything imported: clear, white, green, amber, amber+strict or red',
  }),
  TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP: env.int({
    default: 0,
    min: 0,
    // In seconds: a value in milliseconds lands in year 50000 and is refused rather than imported from.
    max: LATEST_UNIX_SECONDS,
    description:
      'Unix seconds (not milliseconds, at most 253402300799): the first run imports what TeamT5 published since then (0: the whole catalogue)',
  }),
  TEAMT5_FOREIGN_STIX_URLS: env.enum(FOREIGN_STIX_URL_RULES, {
    default: 'fetch-without-token',
    description:
      "A stix_url on another host than TEAMT5_API_BASE_URL's: fetch-without-token, or refuse (the item is reported and skipped)",
  }),
  TEAMT5_TIMEOUT_SECONDS: env.int({
    default: 30,
    min: 1,
    max: 600,
    description: 'Timeout of each TeamT5 request (token, listing page, STIX download)',
  }),
  TEAMT5_MAX_RESPONSE_MB: env.int({
    default: 32,
    min: 1,
    max: 1024,
    description:
      'Largest TeamT5 answer accepted, in MiB (a listing page or one STIX bundle); a larger bundle is reported and skipped instead of taking the memory',
  }),
};

export type Teamt5Config = ConnectorConfig<typeof teamt5Config>;

/** How the connector authenticates to TeamT5, decided once from the settings. */
export type Teamt5Auth =
  | { kind: 'oauth'; clientId: string; clientSecret: string; tokenUrl: string }
  | { kind: 'api-key'; apiKey: string };

export interface ResolvedAuth {
  auth: Teamt5Auth;
  /** Lines for the start-up log (a deprecated or ignored setting). */
  warnings: string[];
}

/** A value counts as set only when it holds more than blanks (upstream's fix for starting with no auth). */
function present(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined;
}

/**
 * Upstream's rule: the OAuth client credentials (both), or the deprecated API key; OAuth wins when both
 * are given. A half-given OAuth pair without an API key is an error naming the missing half.
 *
 * @throws ConfigError when no usable credential is set.
 */
export function resolveAuth(config: Teamt5Config): ResolvedAuth {
  const clientId = present(config.TEAMT5_CLIENT_ID);
  const clientSecret = present(config.TEAMT5_CLIENT_SECRET);
  const apiKey = present(config.TEAMT5_API_KEY);
  const warnings: string[] = [];

  if (clientId !== undefined && clientSecret !== undefined) {
    const tokenUrl = config.TEAMT5_OAUTH_TOKEN_URL ?? `${config.TEAMT5_API_BASE_URL}/oauth/token`;
    // The client secret travels in the form body: never over plain HTTP unless the API itself is plain HTTP.
    if (tokenUrl.startsWith('http:') && !config.TEAMT5_API_BASE_URL.startsWith('http:')) {
      throw new ConfigError([
        {
          variable: 'TEAMT5_OAUTH_TOKEN_URL',
          message: 'must be https:// (the client secret is sent to it) while TEAMT5_API_BASE_URL is https://',
        },
      ]);
    }
    if (apiKey !== undefined) {
      warnings.push('TEAMT5_API_KEY is ignored: the OAuth client credentials take precedence');
    }
    return { auth: { kind: 'oauth', clientId, clientSecret, tokenUrl }, warnings };
  }

  if (apiKey !== undefined) {
    warnings.push(
      'TEAMT5_API_KEY is deprecated: set TEAMT5_CLIENT_ID and TEAMT5_CLIENT_SECRET (OAuth 2.0 client credentials) instead',
    );
    if (clientId !== undefined || clientSecret !== undefined) {
      warnings.push(
        `${clientId === undefined ? 'TEAMT5_CLIENT_ID' : 'TEAMT5_CLIENT_SECRET'} is not set: OAuth is not used, TEAMT5_API_KEY is`,
      );
    }
    return { auth: { kind: 'api-key', apiKey }, warnings };
  }

  const issues: ConfigIssue[] =
    clientId !== undefined
      ? [{ variable: 'TEAMT5_CLIENT_SECRET', message: 'is required with TEAMT5_CLIENT_ID' }]
      : clientSecret !== undefined
        ? [{ variable: 'TEAMT5_CLIENT_ID', message: 'is required with TEAMT5_CLIENT_SECRET' }]
        : [
            {
              variable: 'TEAMT5_CLIENT_ID',
              message:
                'TeamT5 credentials are required: TEAMT5_CLIENT_ID and TEAMT5_CLIENT_SECRET (or the deprecated TEAMT5_API_KEY)',
            },
          ];
  throw new ConfigError(issues);
}
