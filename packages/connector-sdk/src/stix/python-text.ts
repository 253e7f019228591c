/**
 * Python string and date semantics that pycti's id rules depend on. A JS look-alike (`trim()`,
 * `toISOString()`) gives a different id for some inputs, and a different id means a duplicate
 * entity next to the one the Python connector already wrote.
 */

/**
 * The code points for which Python's `str.isspace()` is true: what `str.strip()` removes.
 * Unlike JS `trim()`, it includes U+001C–U+001F and U+0085 and excludes U+FEFF.
 */
const PYTHON_WHITESPACE: ReadonlySet<number> = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
  0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** True when `ch` (one UTF-16 code unit; every Python whitespace is in the BMP) is Python whitespace. */
export function isPythonWhitespace(codeUnit: number): boolean {
  return PYTHON_WHITESPACE.has(codeUnit);
}

/** Python's `s.strip()` with no argument. */
export function pythonStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PYTHON_WHITESPACE.has(s.charCodeAt(start))) start++;
  while (end > start && PYTHON_WHITESPACE.has(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/**
 * Python's `s.lower()`: full Unicode lowercase mapping, including the one-to-many mapping of
 * U+0130 ('İ' → 'i̇') and the context-sensitive final sigma. ECMAScript's `toLowerCase()`
 * implements the same Unicode rules (SpecialCasing unconditional mappings plus Final_Sigma), so
 * the two agree except for characters added to Unicode after the Python build's database.
 */
export function pythonLower(s: string): string {
  return s.toLowerCase();
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * What Python's `datetime.isoformat()` returns for the same instant as a timezone-aware UTC
 * datetime: `2024-01-15T10:00:00+00:00`, with `.ffffff` only when the fraction is non-zero.
 * pycti hashes that text when a connector passes a `datetime` to `generate_id`.
 */
export function pythonIsoformat(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('pythonIsoformat: invalid Date');
  const base =
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`;
  const millis = date.getUTCMilliseconds();
  return millis === 0 ? `${base}+00:00` : `${base}.${pad(millis * 1000, 6)}+00:00`;
}

/** Returns the index of the first unpaired UTF-16 surrogate in `s`, or -1. */
export function findLoneSurrogate(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}
