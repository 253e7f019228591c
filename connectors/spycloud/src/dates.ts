/**
 * The dates the SpyCloud connector reads and writes: SPYCLOUD_IMPORT_START_DATE (an ISO date-time or an ISO
 * duration meaning "that long ago"), the `since` query parameter (a UTC day), the state values (Python's
 * `isoformat()`, as the Python connector wrote them) and the exact text pycti hashes into an Incident id.
 */
import { DurationError, parseDurationSeconds } from '@cti/connector-sdk';

/** SPYCLOUD_IMPORT_START_DATE, resolved against the clock at the start of each run. */
export type StartDate = { kind: 'date'; date: Date } | { kind: 'ago'; seconds: number; text: string };

// What Python's datetime.fromisoformat() and pydantic accept, in the shapes people write in a compose file.
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

interface DateParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Microseconds, as Python keeps them. */
  micro: number;
  /** Offset east of UTC in minutes, or null for a naive date-time. */
  offsetMinutes: number | null;
}

function dateParts(text: string): DateParts | null {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return null;
  const num = (s: string | undefined) => (s === undefined ? 0 : Number(s));
  const fraction = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
  let offsetMinutes: number | null = null;
  const zone = m[8];
  if (zone !== undefined) {
    if (zone.toUpperCase() === 'Z') offsetMinutes = 0;
    else {
      const digits = zone.slice(1).replace(':', '');
      const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
      offsetMinutes = zone.startsWith('-') ? -minutes : minutes;
    }
  }
  const parts: DateParts = {
    year: num(m[1]),
    month: num(m[2]),
    day: num(m[3]),
    hour: num(m[4]),
    minute: num(m[5]),
    second: num(m[6]),
    micro: Number(fraction),
    offsetMinutes,
  };
  // Reject what Date.UTC would silently roll over (2024-02-30, 25:00), and year 0, which Python has not.
  const probe = new Date(utcMs(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second, 0));
  if (
    parts.year < 1 ||
    probe.getUTCFullYear() !== parts.year ||
    probe.getUTCMonth() !== parts.month - 1 ||
    probe.getUTCDate() !== parts.day ||
    probe.getUTCHours() !== parts.hour ||
    probe.getUTCMinutes() !== parts.minute ||
    probe.getUTCSeconds() !== parts.second ||
    (offsetMinutes !== null && Math.abs(offsetMinutes) >= 24 * 60)
  ) {
    return null;
  }
  return parts;
}

/** Date.UTC without its rule that years 0-99 mean 1900-1999. */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number) {
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

function instantOf(p: DateParts): Date {
  const local = utcMs(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, Math.floor(p.micro / 1000));
  return new Date(local - (p.offsetMinutes ?? 0) * 60_000);
}

/**
 * An ISO date-time as an instant. A date alone is midnight UTC; a date-time without an offset is read as UTC
 * (as the Python connector reads it); an explicit offset is converted, not overwritten. Null as well when the
 * instant falls outside years 1-9999 in UTC (9999-12-31T23:00-05:00): no `since` or state date can carry it.
 */
export function parseIsoDateTime(text: string): Date | null {
  const parts = dateParts(text);
  if (parts === null) return null;
  const instant = instantOf(parts);
  const year = instant.getUTCFullYear();
  return year >= 1 && year <= 9999 ? instant : null;
}

/** SPYCLOUD_IMPORT_START_DATE: an ISO date-time, or an ISO duration (P30D) meaning that long before each run. */
export function parseStartDate(text: string): StartDate {
  const trimmed = text.trim();
  if (/^[+-]?P/i.test(trimmed)) {
    // The SDK's duration rules: whole seconds, at most P100Y, never negative (a date in the future).
    try {
      return { kind: 'ago', seconds: parseDurationSeconds(trimmed), text: trimmed.toUpperCase() };
    } catch (err) {
      if (err instanceof DurationError && err.problem === 'syntax') {
        throw new Error(`expected an ISO-8601 duration such as P30D or PT12H, got "${text}"`);
      }
      throw err;
    }
  }
  const date = parseIsoDateTime(trimmed);
  if (date === null) {
    throw new Error(
      `expected an ISO-8601 date-time such as 2024-01-31T00:00:00Z (or a duration such as P30D), got "${text}"`,
    );
  }
  return { kind: 'date', date };
}

/** The instant a start date stands for, at `now`. */
export function resolveStartDate(start: StartDate, now: Date): Date {
  return start.kind === 'date' ? start.date : new Date(now.getTime() - start.seconds * 1000);
}

/** SpyCloud's `since`: the UTC day, `YYYY-MM-DD` (the API takes no time of day). */
export function sinceParam(date: Date): string {
  return date.toISOString().slice(0, 10);
}

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');

function pythonIsoformatOf(p: DateParts): string {
  const base = `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
  const micro = p.micro === 0 ? '' : `.${pad(p.micro, 6)}`;
  if (p.offsetMinutes === null) return `${base}${micro}`;
  const sign = p.offsetMinutes < 0 ? '-' : '+';
  return `${base}${micro}${sign}${pad(Math.trunc(p.offsetMinutes / 60))}:${pad(p.offsetMinutes % 60)}`;
}

/**
 * What Python prints for `spycloud_publish_date` once pydantic has parsed it: `datetime.isoformat()` keeps
 * the offset as given (`Z` becomes `+00:00`) and shows microseconds only when there are some. pycti hashes
 * exactly this text into the Incident id, so it is what makes our ids equal to the Python connector's.
 */
export function pythonIsoformat(text: string): string | null {
  const parts = dateParts(text);
  return parts ? pythonIsoformatOf(parts) : null;
}

/** An instant as the Python connector stores it in the state: `2024-12-04T00:00:00+00:00`. */
export function stateDate(date: Date): string {
  const iso = date.toISOString();
  const ms = date.getUTCMilliseconds();
  return `${iso.slice(0, 19)}${ms === 0 ? '' : `.${pad(ms * 1000, 6)}`}+00:00`;
}
