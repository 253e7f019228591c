/**
 * The suite's one timestamp form: every date-time a connector sends is `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC,
 * three fraction digits), the form the SDK writes. The stand-in platform checks what it receives with it,
 * so a builder, a connector or a vendor pass-through that sends another text of the same instant fails
 * its suite instead of drifting unnoticed.
 */

/** A timestamp in the suite's form. */
export const TIMESTAMP_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// A string that is a date-time and nothing else (any separator, precision and zone): what is checked.
const DATE_TIME = /^[+-]?\d{4,6}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Every string of `value`, at any depth, that is a date-time written in another form, as
 * `<path>: '<text>'` (`path` is like `objects[3].valid_from`). Strings that merely contain a date
 * (a description) are not date-times.
 */
export function timestampFormProblems(value: unknown, path = ''): string[] {
  if (typeof value === 'string') {
    return DATE_TIME.test(value) && !TIMESTAMP_FORM.test(value) ? [`${path || '(value)'}: '${value}'`] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => timestampFormProblems(item, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => timestampFormProblems(item, path ? `${path}.${key}` : key));
  }
  return [];
}
