/**
 * The one text form of every STIX timestamp the SDK sends: `YYYY-MM-DDTHH:MM:SS.sssZ`, UTC with exactly
 * three fraction digits. It is what stix2 writes for `created`/`modified` (STIX 2.1 wants them to the
 * millisecond at least), what pycti's `format_date` returns, the precision OpenCTI stores, and
 * `Date.prototype.toISOString()`. Ids never depend on it: they hash what their rule says, as given.
 */

import { BundleError } from '../errors/index.js';

/** A timestamp in the SDK's form. */
export const STIX_TIMESTAMP_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// RFC 3339 date-time (`T` or space, optional fraction, `Z` or an offset), the shapes vendors send.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Texts found to be real instants already in the SDK's form: a bundle repeats a few (ctx.now on every
 * object, the author's fixed date). Emptied when full, so that it stays a handful.
 */
const knownInForm = new Set<string>();
const KNOWN_IN_FORM_MAX = 16;

/**
 * `value` in the SDK's form, or null when it is not an RFC 3339 date-time of a real instant between the
 * years 0000 and 9999 (a fraction beyond milliseconds is truncated, as OpenCTI stores it).
 */
export function toStixTimestamp(value: string | Date): string | null {
  if (value instanceof Date) {
    const time = value.getTime();
    if (Number.isNaN(time)) return null;
    const text = value.toISOString();
    return STIX_TIMESTAMP_FORM.test(text) ? text : null;
  }
  if (typeof value !== 'string') return null;
  if (knownInForm.has(value)) return value;
  if (STIX_TIMESTAMP_FORM.test(value)) {
    // Already in the SDK's form (what the builders and `now` give): a real instant when Date reads it back
    // unchanged (02-30 and 24:00 read back as the next day, :60 not at all).
    const time = Date.parse(value);
    if (Number.isNaN(time) || new Date(time).toISOString() !== value) return null;
    if (knownInForm.size >= KNOWN_IN_FORM_MAX) knownInForm.clear();
    knownInForm.add(value);
    return value;
  }
  const m = RFC3339.exec(value);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, fraction = '', zulu, sign, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offsetMinutes = zulu ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  if (Number(oh) > 23 || Number(om) > 59) return null;
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const wall = new Date(0);
  wall.setUTCFullYear(year, month - 1, day);
  wall.setUTCHours(hour, minute, second, millis);
  // Reject what Date would roll over silently (2024-02-30, 24:00, 23:59:60).
  if (
    wall.getUTCFullYear() !== year ||
    wall.getUTCMonth() !== month - 1 ||
    wall.getUTCDate() !== day ||
    wall.getUTCHours() !== hour ||
    wall.getUTCMinutes() !== minute ||
    wall.getUTCSeconds() !== second
  ) {
    return null;
  }
  return toStixTimestamp(new Date(wall.getTime() - offsetMinutes * 60_000));
}

/** Like `toStixTimestamp`, for a builder's input: a value that is not a timestamp names its field. */
export function requireStixTimestamp(type: string, field: string, value: string | Date): string {
  const text = toStixTimestamp(value);
  if (text === null) {
    throw new BundleError(`Cannot build a ${type}`, [`${field} '${String(value)}' is not an ISO timestamp`]);
  }
  return text;
}

/**
 * The STIX 2.1 properties of type timestamp, across SDOs, SROs, SCOs and meta objects, plus OpenCTI's
 * own top-level dates. The bundle assembly writes each of them in the SDK's form.
 */
export const STIX_TIMESTAMP_PROPERTIES: ReadonlySet<string> = new Set([
  'created',
  'modified',
  'valid_from',
  'valid_until',
  'first_seen',
  'last_seen',
  'published',
  'start_time',
  'stop_time',
  'first_observed',
  'last_observed',
  'submitted',
  'analysis_started',
  'analysis_ended',
  'object_modified',
  'date',
  'ctime',
  'mtime',
  'atime',
  'start',
  'end',
  'created_time',
  'modified_time',
  'account_created',
  'account_expires',
  'credential_last_changed',
  'account_first_login',
  'account_last_login',
  'validity_not_before',
  'validity_not_after',
  'x_opencti_modified_at',
  'x_opencti_first_seen_active',
]);

/**
 * `object` with its top-level timestamp properties in the SDK's form (a copy when one changes). A value
 * that is not a timestamp is left as it is: what it means is the sender's to say, not the SDK's to guess.
 */
export function withStixTimestamps<T extends object>(object: T): T {
  let copy: Record<string, unknown> | null = null;
  for (const [key, value] of Object.entries(object)) {
    if (!STIX_TIMESTAMP_PROPERTIES.has(key) || typeof value !== 'string') continue;
    const text = toStixTimestamp(value);
    if (text === null || text === value) continue;
    copy ??= { ...(object as Record<string, unknown>) };
    copy[key] = text;
  }
  return copy === null ? object : (copy as T);
}
