/**
 * Deterministic ids the way the platform computes them for the entity types the testkit models:
 * `<stix-type>--uuid5(OASIS namespace, canonical JSON of the contributing properties)`.
 *
 * The platform has its own implementation (schema/identifier.js); for the observables and names used in
 * tests it agrees with pycti and stix2 (value-based SCOs hash `{value}`, named SDOs `{name: lower(trim)}`),
 * which test/ids.test.ts checks against reference/golden-ids.json.
 */
import { createHash } from 'node:crypto';

/** The OASIS STIX 2.1 namespace for deterministic ids. */
export const STIX_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';
/** The namespace the testkit uses for the internal ids (`id`) of what it stores, so runs are reproducible. */
export const TESTKIT_NAMESPACE = '6f0e8a36-0c1e-5d5b-9d43-7b1f0f5c2a10';

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

/** RFC 4122 version-5 UUID (SHA-1) of `name` in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * RFC 8785 (JCS) canonical JSON: members sorted by UTF-16 code units, no whitespace, ECMAScript number
 * and string formatting. `JSON.stringify` already formats scalars that way.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** `<stixType>--uuid5(STIX namespace, canonical(data))`. */
export function deterministicStixId(stixType: string, data: Record<string, unknown>): string {
  return `${stixType}--${uuidV5(STIX_NAMESPACE, canonicalJson(data))}`;
}

/** A reproducible internal id (the platform's `id`/`internal_id`) for something the testkit stores. */
export function internalIdFor(key: string): string {
  return uuidV5(TESTKIT_NAMESPACE, key);
}
