/**
 * The import cursor. Upstream keeps `{"last_run": "<ISO start of the last complete run>"}` and lists
 * `date[from]=last_run` on the next run; that key and format are kept, so a state written by the Python
 * connector carries over and the other way round.
 *
 * Upstream only ever moves it at the end of a fully successful run, so one broken item freezes it forever
 * and an interrupted run loses its progress. Here each stream (reports, indicator bundles) keeps its own
 * cursor, and a stream that has not finished its pass records how far it got: TeamT5 lists newest first,
 * so once an item dated d is imported, every item dated after d (up to the start of the pass) is too.
 * `last_run` stays the point before which everything of both streams is imported.
 */
import { z } from '@cti/connector-sdk';

/** What the platform stores. The per-stream entries appear only while the streams disagree. */
export interface Teamt5State {
  last_run: string;
  reports?: StreamState | undefined;
  indicator_bundles?: StreamState | undefined;
}

export interface StreamState {
  last_run: string;
  /** A pass that did not finish: items dated after `done_after`, up to `started`, are imported. */
  in_progress?: { started: string; done_after: string } | undefined;
}

export const STREAMS = ['reports', 'indicator_bundles'] as const;
export type StreamName = (typeof STREAMS)[number];

/**
 * The last unix second a state date, a `published` or `date[from]` can hold: 9999-12-31T23:59:59Z. Past it
 * toISOString writes "+010000-..." (and a value in milliseconds pasted as seconds lands there).
 */
export const LATEST_UNIX_SECONDS = 253_402_300_799;

/** One stream's cursor in unix seconds. */
export interface StreamCursor {
  /** Every item dated before this is imported. */
  from: number;
  /** Items dated in (after, until] are imported too (an unfinished pass). */
  partial?: { after: number; until: number } | undefined;
}

export type Cursors = Record<StreamName, StreamCursor>;

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Unix seconds of a state date as Python's `datetime.fromisoformat` reads it: the ISO form upstream writes
 * (`2026-05-22T11:00:00+00:00`), `Z`, fractions, and the older `YYYY-MM-DD HH:MM:SS`. A date without an
 * offset is taken as UTC (upstream wrote UTC). Null when it is not a date.
 */
export function parseStateDate(value: string): number | null {
  const m = DATE_TIME.exec(value.trim());
  if (m === null) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', , zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    Number.isNaN(ms) ||
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return null;
  }
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
  }
  const seconds = Math.floor(ms / 1000) - offsetMinutes * 60;
  // Outside 1970-9999 (UTC) the date could not be written back, nor be a TeamT5 date[from].
  return seconds >= 0 && seconds <= LATEST_UNIX_SECONDS ? seconds : null;
}

/** `2026-05-22T11:00:00+00:00`: upstream's `datetime.now(timezone.utc).isoformat(timespec="seconds")`. */
export function formatStateDate(unixSeconds: number): string {
  return `${new Date(unixSeconds * 1000).toISOString().slice(0, 19)}+00:00`;
}

const stateDate = z.string().refine((v) => parseStateDate(v) !== null, {
  message: 'expected an ISO date such as 2026-05-22T11:00:00+00:00',
});

const streamState = z.looseObject({
  last_run: stateDate,
  in_progress: z.looseObject({ started: stateDate, done_after: stateDate }).optional(),
});

/** The saved state; an unreadable one makes the SDK start from the first-run settings, with a warning. */
export const teamt5StateSchema: z.ZodType<Teamt5State> = z.looseObject({
  last_run: stateDate,
  reports: streamState.optional(),
  indicator_bundles: streamState.optional(),
});

function secondsOf(value: string): number {
  // The schema already refused anything unreadable.
  return parseStateDate(value) ?? 0;
}

/** Each stream's cursor: from the saved state, or TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP on a first run. */
export function cursorsFrom(state: Teamt5State | null, firstRunTimestamp: number): Cursors {
  const base: StreamCursor = { from: state === null ? firstRunTimestamp : secondsOf(state.last_run) };
  const cursorOf = (name: StreamName): StreamCursor => {
    const saved = state?.[name];
    if (saved === undefined) return { ...base };
    const progress = saved.in_progress;
    return {
      from: secondsOf(saved.last_run),
      ...(progress === undefined
        ? {}
        : { partial: { after: secondsOf(progress.done_after), until: secondsOf(progress.started) } }),
    };
  };
  return { reports: cursorOf('reports'), indicator_bundles: cursorOf('indicator_bundles') };
}

function sameCursor(a: StreamCursor, b: StreamCursor): boolean {
  return a.from === b.from && a.partial === undefined && b.partial === undefined;
}

/** The state to save: upstream's `{last_run}` alone when both streams agree, per-stream detail otherwise. */
export function stateFrom(cursors: Cursors): Teamt5State {
  const { reports, indicator_bundles } = cursors;
  const lastRun = formatStateDate(Math.min(reports.from, indicator_bundles.from));
  if (sameCursor(reports, indicator_bundles)) return { last_run: lastRun };
  const entry = (cursor: StreamCursor): StreamState => ({
    last_run: formatStateDate(cursor.from),
    ...(cursor.partial === undefined
      ? {}
      : {
          in_progress: {
            started: formatStateDate(cursor.partial.until),
            done_after: formatStateDate(cursor.partial.after),
          },
        }),
  });
  return { last_run: lastRun, reports: entry(reports), indicator_bundles: entry(indicator_bundles) };
}

export type ItemOutcome = 'imported' | 'skipped' | 'failed';

/**
 * The progress of one pass over a stream, fed the items in listing order. It only claims what is proven:
 * an item given up on is claimed only once a later (older) item was imported, or the pass completes, so a
 * pass stopped by a run of failures (an outage) leaves them for the next run. If TeamT5 ever lists out of
 * date order, nothing more is claimed until the pass completes.
 */
export class StreamPass {
  private lowest: number | null = null;
  private ordered = true;
  private pendingFailures = 0;

  /**
   * @param cursor where the stream stood when the pass began
   * @param started the pass's start (unix seconds): the stream's `from` once it completes
   */
  constructor(
    private readonly cursor: StreamCursor,
    private readonly started: number,
  ) {}

  /** True when an earlier, unfinished pass already imported items of this date. */
  alreadyImported(date: number): boolean {
    const partial = this.cursor.partial;
    return partial !== undefined && date > partial.after && date <= partial.until;
  }

  /** False once an item came out of date order: the pass then claims nothing before it completes. */
  get inOrder(): boolean {
    return this.ordered;
  }

  /**
   * Records an item handled; returns the cursor this proves, or null when nothing new can be claimed.
   * `date` is null for an item whose date could not be read.
   */
  handled(date: number | null, outcome: ItemOutcome): StreamCursor | null {
    if (date !== null) {
      if (this.lowest !== null && date > this.lowest) this.ordered = false;
      this.lowest = this.lowest === null ? date : Math.min(this.lowest, date);
    }
    if (outcome === 'failed') {
      this.pendingFailures++;
      return null;
    }
    if (outcome === 'imported') this.pendingFailures = 0;
    if (this.pendingFailures > 0 || !this.ordered || this.lowest === null) return null;

    const after = Math.min(this.lowest, this.started);
    const previous = this.cursor.partial;
    if (previous === undefined) return { from: this.cursor.from, partial: { after, until: this.started } };
    // The earlier pass's range joins this one only once this pass reached it; until then keep it as it is.
    if (after > previous.until) return null;
    return { from: this.cursor.from, partial: { after: Math.min(after, previous.after), until: this.started } };
  }

  /** The pass reached the end of the listing: everything dated before its start is imported. */
  complete(): StreamCursor {
    return { from: this.started };
  }
}
