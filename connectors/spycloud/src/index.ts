/**
 * SpyCloud: a scheduled import of the breach records of the organisation's watchlist as Incidents and
 * observables. One work per run; one pass per configured watchlist type (one pass for all when none is
 * configured), each streamed page by page, each page sent as bundles of at most RECORDS_PER_BUNDLE records
 * (the records of one Incident together); the pass's date is saved in the state, under upstream's key, once
 * every bundle of the pass is confirmed.
 */
import { defineImport, packageVersion, z } from '@cti/connector-sdk';
import { type BreachRecord, SpycloudClient, spycloudHttpOptions } from './client.js';
import { spycloudConfig, type WatchlistType } from './config.js';
import { parseIsoDateTime, resolveStartDate, sinceParam, stateDate } from './dates.js';
import { groupForBundles, IncidentMerger, publishDate, toStixBundle, UNKNOWN_SOURCE } from './to-stix.js';

/** Upstream's state: `last_import_date` when no watchlist type is set, else `<type>_last_import_date`. */
export const spycloudStateSchema = z.looseObject({
  last_import_date: z.string().optional(),
  email_last_import_date: z.string().optional(),
  domain_last_import_date: z.string().optional(),
  subdomain_last_import_date: z.string().optional(),
  ip_last_import_date: z.string().optional(),
});
export type SpycloudState = z.output<typeof spycloudStateSchema>;

export function stateKey(watchlistType: WatchlistType | null): string {
  return watchlistType ? `${watchlistType}_last_import_date` : 'last_import_date';
}

/** Item errors shown one by one on the work before they are only counted. */
const REPORTED_INVALID_RECORDS = 10;

/**
 * Records per bundle. SpyCloud pages hold up to 1,000 records, about 6,900 STIX objects (3.6 MB of JSON);
 * a bundle of that size, its split copy and its push messages are what made memory peak with the import.
 * 100 records (about 700 objects) keep that small. The price: each bundle repeats the author, the marking
 * and any observable it shares with another bundle of the page (3% more messages on the benchmark's page,
 * whose records share many observables); the worker upserts them.
 */
export const RECORDS_PER_BUNDLE = 100;

export default defineImport({
  name: 'SpyCloud',
  slug: 'spycloud',
  version: packageVersion(import.meta.url),
  scope: ['spycloud'],
  config: spycloudConfig,
  state: spycloudStateSchema,

  setup: ({ config, http }) => new SpycloudClient({ http: http(spycloudHttpOptions(config)) }),

  async *run({ config, client, logger, signal, state, reportError, now }) {
    const saved: SpycloudState = { ...(state ?? {}) };
    const startedAt = now();
    const merger = new IncidentMerger();
    const mappingOptions = {
      authorName: config.CONNECTOR_NAME,
      tlp: config.SPYCLOUD_TLP_LEVEL,
      includePasswords: config.SPYCLOUD_INCLUDE_PASSWORDS,
      confidence: config.CONNECTOR_CONFIDENCE_LEVEL,
    };
    // Within a run, a catalog that could not be read is not asked for again for every record.
    const failedCatalogs = new Set<number>();
    let invalidRecords = 0;

    const titlesOf = async (records: readonly BreachRecord[]): Promise<Map<number, string>> => {
      const titles = new Map<number, string>();
      for (const sourceId of new Set(records.map((r) => r.source_id))) {
        if (failedCatalogs.has(sourceId)) continue;
        try {
          titles.set(sourceId, (await client.catalogTitle(sourceId, signal)) ?? UNKNOWN_SOURCE);
        } catch (err) {
          if (signal.aborted) throw err;
          failedCatalogs.add(sourceId);
          await reportError(
            `SpyCloud breach catalog ${sourceId} could not be read; its incidents get the source "${UNKNOWN_SOURCE}": ${(err as Error).message}`,
          );
        }
      }
      return titles;
    };

    const passes: Array<WatchlistType | null> =
      config.SPYCLOUD_WATCHLIST_TYPES.length > 0 ? config.SPYCLOUD_WATCHLIST_TYPES : [null];
    for (const watchlistType of passes) {
      const key = stateKey(watchlistType);
      const savedValue = saved[key];
      const savedDate = typeof savedValue === 'string' ? parseIsoDateTime(savedValue) : null;
      if (savedValue !== undefined && savedDate === null) {
        logger.warn(
          { [key]: savedValue },
          'the saved date is not an ISO date: starting from SPYCLOUD_IMPORT_START_DATE',
        );
      }
      const from = savedDate ?? resolveStartDate(config.SPYCLOUD_IMPORT_START_DATE, startedAt);
      const query = {
        watchlistType,
        severities: config.SPYCLOUD_SEVERITY_LEVELS,
        since: sinceParam(from),
      };
      logger.info({ ...query, fromState: savedDate !== null }, 'SpyCloud pass started');

      let newest: Date | null = null;
      let records = 0;
      for await (const page of client.watchlist(query, signal)) {
        for (const bad of page.invalid) {
          invalidRecords++;
          const message = `SpyCloud breach record ${bad.documentId ?? `#${bad.index + 1}`} of page ${page.number} skipped: ${bad.problems}`;
          if (invalidRecords <= REPORTED_INVALID_RECORDS) await reportError(message);
          else logger.warn(message);
        }
        const titles = await titlesOf(page.records);
        for (const record of page.records) {
          const published = publishDate(record);
          if (newest === null || published > newest) newest = published;
        }
        records += page.records.length;
        let incidents = 0;
        // One bundle at a time: the next group is mapped only once the previous bundle was taken.
        for (const group of groupForBundles(page.records, RECORDS_PER_BUNDLE)) {
          const mapped = toStixBundle(group, titles, mappingOptions, merger);
          for (const note of mapped.skipped) logger.debug({ watchlistType }, `observable left out: ${note}`);
          incidents += mapped.incidents;
          if (mapped.bundle) yield { bundle: mapped.bundle };
        }
        logger.info(
          {
            watchlistType,
            page: page.number,
            records: page.records.length,
            hits: page.hits,
            incidents,
          },
          'SpyCloud page sent',
        );
      }

      // Upstream saves the pass's newest publish date, and only for a pass that found something.
      if (newest !== null) {
        // Never backwards: a record older than the saved date must not make the next run start earlier.
        if (savedDate !== null && savedDate > newest) newest = savedDate;
        saved[key] = stateDate(newest);
        yield { state: { ...saved } };
      }
      logger.info({ watchlistType, records, [key]: saved[key] ?? null }, 'SpyCloud pass done');
    }
    if (invalidRecords > REPORTED_INVALID_RECORDS) {
      await reportError(
        `${invalidRecords} SpyCloud breach records were skipped as invalid; the first ${REPORTED_INVALID_RECORDS} are listed, the others are in the logs`,
      );
    }
  },
});
