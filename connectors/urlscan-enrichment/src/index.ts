/**
 * URLScan.io: enriches Url, Domain-Name and Hostname observables from urlscan.io. It searches existing
 * scans first (the newest, or the newest of a live page with ONLY_ACTIVE_URLS) and reads that one result;
 * a new scan is submitted only when URLSCAN_SUBMIT_SCAN=true, never publicly for data above TLP:GREEN.
 * IPv4-Addr and IPv6-Addr go through the Search API only: the newest scans whose pages contacted them.
 */
import {
  AttachmentError,
  ConfigError,
  defineEnrichment,
  type EnrichmentEntity,
  InputError,
  identityId,
  type Logger,
  OPENCTI_SCO_EXTENSION,
  OPENCTI_SDO_EXTENSION,
  packageVersion,
  type StixBundle,
  type TlpLevel,
  tlpRank,
  UpstreamApiError,
} from '@cti/connector-sdk';
import { LEGACY_FLAGS_HELP, rewriteLegacyArgs } from './cli.js';
import { type ScanResult, UrlscanClient, urlscanHttpOptions } from './client.js';
import { urlscanConfig, type Visibility } from './config.js';
import { indicatorAttribute, observableOfIndicator, parseSimplePattern } from './indicator-pattern.js';
import { summarizeIpSearch, toIpSearchBundle } from './ip-to-stix.js';
import {
  buildSearchQuery,
  IP_SEARCH_SIZE,
  normalizeDomain,
  normalizeIp,
  SEARCH_SIZE,
  SEARCH_SIZE_ACTIVE_ONLY,
  searchKindOf,
  selectHit,
} from './search.js';
import { AUTHOR_NAME, summarizeVerdicts, toStixBundle, withScreenshot } from './to-stix.js';

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

/**
 * The scan's screenshot attached to the observable. The screenshot is a bonus: when urlscan has none, it is
 * too large, or it is not a PNG, the enrichment goes on without it and its message says why.
 */
async function attachScreenshot(
  bundle: StixBundle,
  observableId: string,
  result: ScanResult,
  maxMb: number,
  { client, logger, signal }: { client: UrlscanClient; logger: Logger; signal: AbortSignal },
): Promise<{ bundle: StixBundle; note: string }> {
  const maxBytes = maxMb * 1024 * 1024;
  try {
    const png = await client.screenshot(result.task.uuid, maxBytes, signal);
    if (png === null) return { bundle, note: '; urlscan.io has no screenshot of this scan' };
    return { bundle: withScreenshot(bundle, observableId, result, png, maxBytes), note: ', with its screenshot' };
  } catch (err) {
    if (signal.aborted || !(AttachmentError.is(err) || UpstreamApiError.is(err))) throw err;
    logger.warn({ err, uuid: result.task.uuid }, 'screenshot left out');
    return { bundle, note: `; screenshot left out: ${(err as Error).message}` };
  }
}

/**
 * Whether the entity's author is this connector's (the platform's read, or the STIX form it handed over):
 * every object this connector creates carries it, and nothing this connector re-sends changes another
 * entity's author.
 */
export function createdByThisConnector(entity: EnrichmentEntity): boolean {
  const author = identityId(AUTHOR_NAME, 'organization');
  const createdBy = entity.raw.createdBy as { standard_id?: unknown } | null | undefined;
  if (createdBy?.standard_id === author) return true;
  const stix = entity.stix;
  const extensions = (stix.extensions ?? {}) as Record<string, { created_by_ref?: unknown } | undefined>;
  return [
    stix.created_by_ref,
    stix.x_opencti_created_by_ref,
    extensions[OPENCTI_SDO_EXTENSION]?.created_by_ref,
    extensions[OPENCTI_SCO_EXTENSION]?.created_by_ref,
  ].includes(author);
}

export default defineEnrichment({
  name: 'URLScan.io',
  slug: 'urlscan-enrichment',
  version: packageVersion(import.meta.url),
  scope: ['Domain-Name', 'Hostname', 'IPv4-Addr', 'IPv6-Addr', 'Url'],
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

  async enrich(enriched, { config, client, logger, signal, confidence, now, auto }) {
    // Auto mode on an observable this connector created (its results are in its own scope): enriching it
    // would create more, and so on for ever. The official README asked admins to pick one scope to avoid it.
    if (auto && createdByThisConnector(enriched)) {
      return {
        message: `Not enriched in auto mode: ${enriched.value ?? enriched.id} was created by this connector (author ${AUTHOR_NAME}) in an enrichment; enriching what it creates would never end. Enrich it by hand if needed.`,
      };
    }
    // An Indicator is enriched through the observable its simple pattern names; anything else is refused
    // before any request (connectors#3938).
    let entity = enriched;
    let indicatorId: string | undefined;
    if (enriched.entityType.toLowerCase() === 'indicator') {
      const named = parseSimplePattern(
        indicatorAttribute(enriched, 'pattern'),
        indicatorAttribute(enriched, 'pattern_type'),
      );
      entity = observableOfIndicator(enriched, named.type, named.value);
      indicatorId = enriched.id;
    }
    const value = entity.value ?? '';
    const onlyActive = config.ONLY_ACTIVE_URLS;
    const dateFilter = config.URLSCAN_SEARCH_FILTERED_BY_DATE;
    const kind = searchKindOf(entity.entityType);
    const query = buildSearchQuery(entity.entityType, value, dateFilter);

    if (kind === 'ip') {
      // The Search API only, as the official connector: an address is never submitted.
      const { hits, total } = await client.searchWithTotal(query, IP_SEARCH_SIZE, signal);
      if (hits.length === 0) return { message: `No urlscan.io scan contacted ${value}` };
      const bundle = toIpSearchBundle(entity, hits, total, { confidence, dateFilter, now: now() });
      const summary = summarizeIpSearch(normalizeIp(value) ?? value, hits);
      return {
        bundle,
        message: `urlscan.io: ${summary.scans.length} newest scans contacted ${value} (${summary.malicious} malicious, ${summary.domains.length} page domains), ${bundle.objects.length} objects sent`,
      };
    }

    const hits = await client.search(query, onlyActive ? SEARCH_SIZE_ACTIVE_ONLY : SEARCH_SIZE, signal);
    const domain = kind === 'domain' ? normalizeDomain(value) : null;
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

    let bundle = toStixBundle(entity, result, {
      confidence,
      // An enriched Indicator is the indicator: no second one of the same pattern.
      createIndicator: config.URLSCAN_CREATE_INDICATOR && indicatorId === undefined,
      indicatorId,
      now: now(),
    });
    let screenshot = '';
    if (config.URLSCAN_IMPORT_SCREENSHOT && result.task.screenshotURL !== undefined) {
      const attached = await attachScreenshot(bundle, entity.id, result, config.URLSCAN_SCREENSHOT_MAX_MB, {
        client,
        logger,
        signal,
      });
      bundle = attached.bundle;
      screenshot = attached.note;
    }
    const verdict = summarizeVerdicts(result).malicious ? 'malicious' : 'not malicious';
    return {
      bundle,
      message: `urlscan.io: ${value} is ${verdict} (${origin} ${result.task.uuid} of ${result.task.time ?? 'unknown date'}), ${bundle.objects.length} objects sent${screenshot}`,
    };
  },
});
