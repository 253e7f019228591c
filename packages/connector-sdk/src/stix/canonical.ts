/**
 * JSON canonicalisation (RFC 8785, "JCS") as the `stix2` Python library implements it. The text
 * produced here is what gets UUIDv5-hashed into every deterministic STIX id, so a single differing
 * byte means a different id.
 */

import { findLoneSurrogate } from './python-text.js';

/**
 * Deepest nesting accepted in a value sent or hashed, the object's own properties being at depth 1. STIX
 * objects nest a few levels (extensions, hashes, external references); Node's JSON.stringify overflows
 * its stack a few thousand levels down, Python's json (the platform's worker, and upstream's id hashing)
 * at about a thousand.
 */
export const MAX_NESTING_DEPTH = 100;

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  8: '\\b',
  9: '\\t',
  10: '\\n',
  12: '\\f',
  13: '\\r',
  34: '\\"',
  92: '\\\\',
};

// Only `"`, `\` and the C0 controls are escaped; everything else (non-ASCII, U+007F,
// U+2028/U+2029) is emitted raw.
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return true;
  }
  return false;
}

/**
 * Where the walk is, as the keys and indexes from the root: made into a path (`$.a[2]`) only for an error
 * message, because a path string per value walked cost more than the canonical text itself.
 */
type Trail = Array<string | number>;

function pathOf(trail: Trail): string {
  let path = '$';
  for (const step of trail) path += typeof step === 'number' ? `[${step}]` : `.${step}`;
  return path;
}

function canonicalString(s: string, trail: Trail): string {
  if (findLoneSurrogate(s) !== -1) {
    // Python cannot UTF-8-encode a lone surrogate either, so no id exists for such a text.
    throw new TypeError(`canonicalize: unpaired UTF-16 surrogate in the string at ${pathOf(trail)}`);
  }
  if (!needsEscape(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) out += short;
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

function canonicalNumber(n: number, trail: Trail): string {
  if (!Number.isFinite(n)) throw new TypeError(`canonicalize: ${n} at ${pathOf(trail)} is not a valid JSON number`);
  // ECMAScript Number#toString is the JCS number format (and prints -0 as "0", as JCS requires).
  return String(n);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function canonicalValue(value: unknown, trail: Trail, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return canonicalString(value, trail);
    case 'number':
      return canonicalNumber(value, trail);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalize: a ${typeof value} at ${pathOf(trail)} has no JSON form`);
  }
  if (depth >= MAX_NESTING_DEPTH) {
    const path = pathOf(trail);
    throw new TypeError(
      `canonicalize: ${path.slice(0, 60)}${path.length > 60 ? '…' : ''} is nested more than ${MAX_NESTING_DEPTH} levels deep (or refers to itself)`,
    );
  }
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      trail.push(i);
      if (item === undefined) throw new TypeError(`canonicalize: undefined at ${pathOf(trail)}`);
      parts.push(canonicalValue(item, trail, depth + 1));
      trail.pop();
    }
    return `[${parts.join(',')}]`;
  }
  if (!isPlainObject(value)) {
    throw new TypeError(
      `canonicalize: ${Object.prototype.toString.call(value)} at ${pathOf(trail)} is not a plain object`,
    );
  }
  // Default string sort compares UTF-16 code units, which is exactly JCS's member order.
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  const parts: string[] = [];
  for (const key of keys) {
    const name = canonicalString(key, trail);
    trail.push(key);
    parts.push(`${name}:${canonicalValue(value[key], trail, depth + 1)}`);
    trail.pop();
  }
  return `{${parts.join(',')}}`;
}

/**
 * Canonical JSON text of `value`: object members sorted by UTF-16 code units, no whitespace,
 * strings escaped only where JSON requires it, numbers in ECMAScript form (`48.0` → `48`,
 * `1e-7`, `1e21`). Object members whose value is `undefined` are left out, like `JSON.stringify`.
 *
 * @throws TypeError for values with no JSON form (NaN, Infinity, bigint, functions, Dates and
 *   other non-plain objects, undefined array items), for strings holding a lone surrogate, and for
 *   values nested more than 100 levels deep (a cycle included).
 */
export function canonicalize(value: unknown): string {
  if (value === undefined) throw new TypeError('canonicalize: undefined has no JSON form');
  return canonicalValue(value, [], 0);
}
