/**
 * SpyCloud: a scheduled import of the breach records of the organisation's watchlist as Incidents and
 * observables. One work per run; one pass per configured watchlist type (one pass for all when none is
 * configured), each streamed page by page, one bundle per page; the pass's date is saved in the state, under
 * upstream's key, once every bundle of the pass is confirmed.
 */
import { defineImport, z } from '@cti/connector-sdk';
import { type BreachRecord, SpycloudClient, spycloudHttpOptions } from './client.js';
import { spycloudConfig, type WatchlistType } from './config.js';
import { parseIsoDateTime, resolveStartDate, sinceParam, stateDate } from './dates.js';
import { IncidentMerger, publishDate, toStixBundle, UNKNOWN_SOURCE } from './to-stix.js';

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

export default defineImport({
  name: 'SpyCloud',
  slug: 'spycloud',
  scope: ['spycloud'],
  config: spycloudConfig,
  state: spycloudStateSchema,

  setup: ({ config, http }) => new SpycloudClient({ http: http(spycloudHttpOptions(config)) }),

  async *run({ config, client, logger, signal, state, reportError, now }) {
    const saved: SpycloudState = { ...(state ?? {}) };
    const startedAt = now();
    const merger = new IncidentMerger();
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
        const mapped = toStixBundle(
          page.records,
          await titlesOf(page.records),
          {
            authorName: config.CONNECTOR_NAME,
            tlp: config.SPYCLOUD_TLP_LEVEL,
            includePasswords: config.SPYCLOUD_INCLUDE_PASSWORDS,
            confidence: config.CONNECTOR_CONFIDENCE_LEVEL,
          },
          merger,
        );
        for (const note of mapped.skipped) logger.debug({ watchlistType }, `observable left out: ${note}`);
        for (const record of page.records) {
          const published = publishDate(record);
          if (newest === null || published > newest) newest = published;
        }
        records += page.records.length;
        logger.info(
          {
            watchlistType,
            page: page.number,
            records: page.records.length,
            hits: page.hits,
            incidents: mapped.incidents,
          },
          'SpyCloud page mapped',
        );
        if (mapped.bundle) yield { bundle: mapped.bundle };
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
