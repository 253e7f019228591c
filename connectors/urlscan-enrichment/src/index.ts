/**
 * URLScan.io: enriches Url and Domain-Name observables from urlscan.io. It searches existing scans first
 * (the newest, or the newest of a live page with ONLY_ACTIVE_URLS) and reads that one result; a new scan
 * is submitted only when URLSCAN_SUBMIT_SCAN=true, never publicly for data above TLP:GREEN.
 */
import { ConfigError, defineEnrichment, InputError, packageVersion, type TlpLevel, tlpRank } from '@cti/connector-sdk';
import { LEGACY_FLAGS_HELP, rewriteLegacyArgs } from './cli.js';
import { type ScanResult, UrlscanClient, urlscanHttpOptions } from './client.js';
import { urlscanConfig, type Visibility } from './config.js';
import { buildSearchQuery, normalizeDomain, SEARCH_SIZE, SEARCH_SIZE_ACTIVE_ONLY, selectHit } from './search.js';
import { summarizeVerdicts, toStixBundle } from './to-stix.js';

/**
 * A public scan publishes the URL to everyone on urlscan.io: refused for an observable above TLP:GREEN
 * (the official connector's default visibility published TLP:AMBER observables).
 * @throws InputError naming the setting to change.
 */
export function assertVisibilityAllowed(visibility: Visibility, tlp: TlpLevel): void {
  if (visibility === 'public' && tlpRank(tlp) > tlpRank('TLP:GREEN')) {
    throw new InputError(
      `Refused to submit a public urlscan.io scan of an observable marked ${tlp}: public scans are visible to everyone; set URLSCAN_VISIBILITY=unlisted or private`,
    );
  }
}

export default defineEnrichment({
  name: 'URLScan.io',
  slug: 'urlscan-enrichment',
  version: packageVersion(import.meta.url),
  scope: ['Domain-Name', 'Url'],
  config: urlscanConfig,
  playbookCompatible: true,
  maxTlp: (config) => config.URLSCAN_MAX_TLP,
  cli: { rewriteArgs: rewriteLegacyArgs, help: LEGACY_FLAGS_HELP },

  setup: ({ config, http, logger }) => {
    if (config.URLSCAN_SUBMIT_SCAN && !config.URLSCAN_API_KEY) {
      throw new ConfigError([
        { variable: 'URLSCAN_SUBMIT_SCAN', message: 'submitting scans needs an API key: set URLSCAN_API_KEY' },
      ]);
    }
    if (!config.URLSCAN_API_KEY) {
      logger.info('URLSCAN_API_KEY is not set: searching urlscan.io anonymously, at its lower limits');
    }
    if (config.URLSCAN_SUBMIT_SCAN && config.URLSCAN_VISIBILITY === 'public') {
      logger.warn(
        'URLSCAN_VISIBILITY=public: submitted scans are published on urlscan.io (refused for observables above TLP:GREEN)',
      );
    }
    return new UrlscanClient({
      http: http(urlscanHttpOptions(config)),
      hasApiKey: config.URLSCAN_API_KEY !== undefined,
      maxWaitMs: config.URLSCAN_MAX_WAIT_SECONDS * 1000,
      perHour: config.URLSCAN_RATE_LIMIT_PER_HOUR,
      logger,
    });
  },

  async enrich(entity, { config, client, signal, confidence, now }) {
    const value = entity.value ?? '';
    const onlyActive = config.ONLY_ACTIVE_URLS;
    const query = buildSearchQuery(entity.entityType, value, config.URLSCAN_SEARCH_FILTERED_BY_DATE);
    const hits = await client.search(query, onlyActive ? SEARCH_SIZE_ACTIVE_ONLY : SEARCH_SIZE, signal);
    const domain = entity.entityType.toLowerCase() === 'domain-name' ? normalizeDomain(value) : null;
    const hit = selectHit(hits, onlyActive, domain);

    let result: ScanResult | null;
    let origin: string;
    if (hit) {
      result = await client.result(hit._id, signal);
      if (!result) return { message: `urlscan.io lists scan ${hit._id} of ${value}, but its result is gone` };
      origin = 'newest scan';
    } else {
      const none =
        hits.length === 0
          ? `No urlscan.io scan found for ${value}`
          : domain
            ? `No ${onlyActive ? 'active (HTTP 200) ' : ''}urlscan.io scan of a page on ${value} among the ${hits.length} newest scans that contacted it`
            : `No active urlscan.io scan (HTTP 200) found for ${value} among the ${hits.length} newest`;
      if (!config.URLSCAN_SUBMIT_SCAN) return { message: none };
      assertVisibilityAllowed(config.URLSCAN_VISIBILITY, entity.tlp);
      const submission = await client.submit(value, config.URLSCAN_VISIBILITY, signal);
      if (!submission.accepted) return { message: `${none}; urlscan.io refused a new scan: ${submission.reason}` };
      result = await client.waitForResult(submission.uuid, config.URLSCAN_SUBMIT_WAIT_SECONDS * 1000, signal);
      origin = `new ${config.URLSCAN_VISIBILITY} scan`;
    }

    const bundle = toStixBundle(entity, result, {
      confidence,
      createIndicator: config.URLSCAN_CREATE_INDICATOR,
      now: now(),
    });
    const verdict = summarizeVerdicts(result).malicious ? 'malicious' : 'not malicious';
    return {
      bundle,
      message: `urlscan.io: ${value} is ${verdict} (${origin} ${result.task.uuid} of ${result.task.time ?? 'unknown date'}), ${bundle.objects.length} objects sent`,
    };
  },
});
