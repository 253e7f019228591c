/**
 * One import run: the reports, then the indicator bundles, each in its own work and with its own cursor.
 * Items stream one at a time (one listing page and one bundle in memory); the SDK confirms each bundle
 * before the next item is taken and saves the state that came with it only then.
 *
 * An item that cannot be imported (download failed after the HTTP client's bounded retries, unreadable or
 * invalid STIX, a refused foreign stix_url) is reported on its work with its alias or id and skipped, so it
 * cannot block every later run as upstream's frozen cursor does. Five failures in a row look like an outage
 * rather than a broken item: the stream stops there and the next run tries them again. Refused credentials
 * stop the whole run.
 */
import {
  CtiError,
  type HttpLogger,
  type ImportItem,
  redactString,
  type StixBundle,
  UpstreamApiError,
} from '@cti/connector-sdk';
import { type IndicatorBundleRef, type Listed, type ReportRef, Teamt5AuthError, VENDOR } from './client.js';
import {
  type Cursors,
  cursorsFrom,
  formatStateDate,
  STREAMS,
  type StreamCursor,
  type StreamName,
  StreamPass,
  stateFrom,
  type Teamt5State,
} from './state.js';
import { type MappingOptions, toIndicatorBundle, toReportBundle } from './to-stix.js';

/** Upstream's work names, one work per stream and run. */
export const WORKS: Readonly<Record<StreamName, string>> = {
  reports: 'Creating Reports from TeamT5',
  indicator_bundles: 'Creating Indicator Bundles from TeamT5',
};

const PLURAL: Readonly<Record<StreamName, string>> = { reports: 'reports', indicator_bundles: 'indicator bundles' };

/** Failed items in a row after which a stream stops (upstream's bound on failed listing pages). */
export const MAX_FAILURES_IN_A_ROW = 5;

/** The part of the TeamT5 client a run uses. */
export interface Teamt5Source {
  listReports(since: number, signal?: AbortSignal): AsyncIterable<Listed<ReportRef>>;
  listIndicatorBundles(since: number, signal?: AbortSignal): AsyncIterable<Listed<IndicatorBundleRef>>;
  downloadBundle(url: string, signal?: AbortSignal): Promise<unknown[]>;
}

export interface Teamt5RunContext {
  client: Teamt5Source;
  state: Teamt5State | null;
  firstRunTimestamp: number;
  mapping: MappingOptions;
  logger: HttpLogger & { error(obj: Record<string, unknown>, msg: string): void };
  signal: AbortSignal;
  now(): Date;
  reportError(message: string, options: { work: string }): Promise<void>;
}

/** An error message fit for a work and a log line. */
export function describe(err: unknown): string {
  if (err instanceof CtiError) return redactString(err.message);
  if (err instanceof Error) return redactString(`${err.name}: ${err.message}`);
  return redactString(String(err));
}

/** A listed item, whatever its stream. */
interface Candidate {
  label: string;
  date: number | null;
  stixUrl: string | null;
  toBundle(objects: readonly unknown[]): StixBundle;
}

async function* candidates(
  stream: StreamName,
  since: number,
  ctx: Teamt5RunContext,
): AsyncGenerator<Candidate | { unreadable: string; label: string; date: number | null }> {
  if (stream === 'reports') {
    for await (const entry of ctx.client.listReports(since, ctx.signal)) {
      if (!entry.ok) {
        yield { unreadable: entry.problem, label: entry.label, date: entry.date };
        continue;
      }
      const ref = entry.ref;
      yield {
        label: `report ${ref.alias ?? `"${ref.title}"`}`,
        date: ref.date,
        stixUrl: ref.stixUrl,
        toBundle: (objects) => toReportBundle(ref, objects, ctx.mapping),
      };
    }
    return;
  }
  for await (const entry of ctx.client.listIndicatorBundles(since, ctx.signal)) {
    if (!entry.ok) {
      yield { unreadable: entry.problem, label: entry.label, date: entry.date };
      continue;
    }
    const ref = entry.ref;
    yield {
      label: `indicator bundle ${ref.id}`,
      date: ref.date,
      stixUrl: ref.stixUrl,
      toBundle: (objects) => toIndicatorBundle(objects, ctx.mapping),
    };
  }
}

function isFatal(err: unknown, signal: AbortSignal): boolean {
  return err instanceof Teamt5AuthError || signal.aborted;
}

/** One stream's pass; `cursors` is updated as progress is proven, and shared with the other stream. */
async function* importStream(
  stream: StreamName,
  cursors: Cursors,
  started: number,
  ctx: Teamt5RunContext,
): AsyncGenerator<ImportItem<Teamt5State>> {
  const cursor = cursors[stream];
  const pass = new StreamPass(cursor, started);
  const work = WORKS[stream];
  const what = PLURAL[stream];
  const counts = { imported: 0, alreadyImported: 0, withoutStix: 0, failed: 0 };
  let failuresInARow = 0;
  let warnedOrder = false;

  const save = (next: StreamCursor | null): Teamt5State | undefined => {
    if (next === null) return undefined;
    cursors[stream] = next;
    return stateFrom(cursors);
  };
  const failed = async (label: string, date: number | null, problem: string): Promise<void> => {
    counts.failed++;
    failuresInARow++;
    await ctx.reportError(`TeamT5 ${label}: ${problem}; skipped`, { work });
    pass.handled(date, 'failed');
    if (failuresInARow >= MAX_FAILURES_IN_A_ROW) {
      throw new UpstreamApiError(
        `${failuresInARow} TeamT5 ${what} in a row could not be imported (the last: ${label}): the ${what} stop here for this run, and the next run tries them again`,
        { vendor: VENDOR, retryable: true, reason: 'http' },
      );
    }
  };

  ctx.logger.info(
    {
      since: formatStateDate(cursor.from),
      ...(cursor.partial
        ? { resumingAfter: formatStateDate(cursor.partial.after), resumingUntil: formatStateDate(cursor.partial.until) }
        : {}),
    },
    `Listing TeamT5 ${what}`,
  );

  for await (const item of candidates(stream, cursor.from, ctx)) {
    if ('unreadable' in item) {
      await failed(item.label, item.date, item.unreadable);
      continue;
    }
    if (item.date !== null && pass.alreadyImported(item.date)) {
      // Imported by an interrupted earlier pass: no download. Its progress is saved with the next import.
      counts.alreadyImported++;
      pass.handled(item.date, 'skipped');
      continue;
    }
    if (item.stixUrl === null) {
      // Upstream: an item without a STIX url has nothing to download, which is not a failure.
      counts.withoutStix++;
      ctx.logger.info({ item: item.label }, `TeamT5 ${item.label} has no STIX url: nothing to import`);
      pass.handled(item.date, 'skipped');
      continue;
    }

    let bundle: StixBundle;
    try {
      bundle = item.toBundle(await ctx.client.downloadBundle(item.stixUrl, ctx.signal));
    } catch (err) {
      if (isFatal(err, ctx.signal)) throw err;
      await failed(item.label, item.date, describe(err));
      continue;
    }
    failuresInARow = 0;
    counts.imported++;
    const state = save(pass.handled(item.date, 'imported'));
    if (!pass.inOrder && !warnedOrder) {
      warnedOrder = true;
      ctx.logger.warn(
        { item: item.label },
        `TeamT5 listed ${what} out of date order: this pass saves its progress only once it completes`,
      );
    }
    ctx.logger.debug({ item: item.label, objects: bundle.objects.length }, `TeamT5 ${item.label}: sending`);
    yield { bundle, work, ...(state === undefined ? {} : { state }) };
  }

  yield { state: save(pass.complete()) };
  ctx.logger.info(
    counts,
    `TeamT5 ${what}: ${counts.imported} imported, ${counts.failed} skipped in error, ${counts.alreadyImported} already imported, ${counts.withoutStix} without STIX`,
  );
}

/** The run: both streams; a stream that fails does not keep the other from running, and fails the run. */
export async function* importTeamt5(ctx: Teamt5RunContext): AsyncGenerator<ImportItem<Teamt5State>> {
  const started = Math.floor(ctx.now().getTime() / 1000);
  const cursors = cursorsFrom(ctx.state, ctx.firstRunTimestamp);
  let failure: unknown = null;
  for (const stream of STREAMS) {
    try {
      yield* importStream(stream, cursors, started, ctx);
    } catch (err) {
      if (isFatal(err, ctx.signal)) throw err;
      failure ??= err;
      const message = `TeamT5 ${PLURAL[stream]} not finished: ${describe(err)}. The saved state keeps what was imported; the next run goes on from there`;
      ctx.logger.error({ stream }, message);
      await ctx.reportError(message, { work: WORKS[stream] });
    }
  }
  if (failure !== null) throw failure;
}
