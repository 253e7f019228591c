/**
 * Deterministic STIX ids, byte-for-byte those of pycti 7 (`generate_id`, release 7.260817.0) and of the stix2 3.0
 * library (observable ids). Same entity, same id: a re-import by a TypeScript connector updates
 * what a Python connector wrote instead of duplicating it.
 *
 * There is deliberately no random fallback: an input that yields no id throws a BundleError.
 */

import { hash } from 'node:crypto';
import { BundleError } from '../errors/index.js';
import { canonicalize } from './canonical.js';
import { pythonIsoformat, pythonLower, pythonStrip } from './python-text.js';

/** The OASIS STIX namespace used by stix2 for observables and by pycti for every other type. */
export const OASIS_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

/** OpenCTI's SDO/SRO extension, where platform-exported STIX keeps OpenCTI attributes. */
export const OPENCTI_SDO_EXTENSION = 'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba';
/** OpenCTI's SCO extension. */
export const OPENCTI_SCO_EXTENSION = 'extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Namespaces' 16 bytes, by their text: a connector hashes every id under one or two of them. */
const namespaceBytes = new Map<string, Buffer>();

function bytesOfNamespace(namespace: string): Buffer {
  let bytes = namespaceBytes.get(namespace);
  if (bytes === undefined) {
    if (!UUID_PATTERN.test(namespace)) throw new TypeError(`uuidV5: '${namespace}' is not a UUID`);
    bytes = Buffer.from(namespace.replaceAll('-', ''), 'hex');
    // Bounded: a caller passing ever new namespaces must not grow it without end.
    if (namespaceBytes.size >= 64) namespaceBytes.clear();
    namespaceBytes.set(namespace, bytes);
  }
  return bytes;
}

/** RFC 4122 version 5 UUID: SHA-1 over the namespace's 16 bytes followed by the UTF-8 name. */
export function uuidV5(namespace: string, name: string): string {
  const ns = bytesOfNamespace(namespace);
  // One buffer and a one-shot hash: a Hash object per id cost a third of the time of every id.
  const input = Buffer.allocUnsafe(16 + Buffer.byteLength(name, 'utf8'));
  ns.copy(input, 0);
  input.write(name, 16, 'utf8');
  const bytes = hash('sha1', input, 'buffer');
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The fixed ids OpenCTI and stix2 give the TLP marking definitions (TLP:WHITE shares CLEAR's). */
export const TLP_MARKING_IDS = {
  'TLP:CLEAR': 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  'TLP:GREEN': 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  'TLP:AMBER': 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  'TLP:AMBER+STRICT': 'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37',
  'TLP:RED': 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
} as const;

/** pycti's static marking ids: matched only for `definition_type === 'TLP'` and exact-case definitions. */
const STATIC_TLP_IDS: ReadonlyMap<string, string> = new Map([
  ['TLP:CLEAR', TLP_MARKING_IDS['TLP:CLEAR']],
  ['TLP:WHITE', TLP_MARKING_IDS['TLP:CLEAR']],
  ['TLP:GREEN', TLP_MARKING_IDS['TLP:GREEN']],
  ['TLP:AMBER', TLP_MARKING_IDS['TLP:AMBER']],
  ['TLP:AMBER+STRICT', TLP_MARKING_IDS['TLP:AMBER+STRICT']],
  ['TLP:RED', TLP_MARKING_IDS['TLP:RED']],
]);

type Input = Readonly<Record<string, unknown>>;
/** Either the object to canonicalise and hash, or a fixed id. */
type IdData = { readonly data: Record<string, unknown> } | { readonly staticId: string };
type Rule = (input: Input, kind: string) => IdData;

function cannotCompute(kind: string, problems: string[]): BundleError {
  return new BundleError(`Cannot compute a deterministic ${kind} id`, problems);
}

function isAbsent(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

function requiredString(kind: string, input: Input, field: string): string {
  const value = input[field];
  if (isAbsent(value)) throw cannotCompute(kind, [`missing ${field}`]);
  if (typeof value !== 'string') throw cannotCompute(kind, [`${field} must be a string, got ${typeof value}`]);
  return value;
}

/** A date as pycti hashes it: strings verbatim, `Date`s as Python's `isoformat()`, absent as null. */
function optionalDate(kind: string, input: Input, field: string): string | null {
  const value = input[field];
  if (isAbsent(value)) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw cannotCompute(kind, [`${field} is an invalid Date`]);
    return pythonIsoformat(value);
  }
  throw cannotCompute(kind, [`${field} must be a string or a Date, got ${typeof value}`]);
}

/** `value.lower().strip()`, the normalisation pycti applies to names. */
function normalizedName(value: string): string {
  return pythonStrip(pythonLower(value));
}

function pythonTruthy(value: unknown): boolean {
  if (isAbsent(value) || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const nameOnly: Rule = (input, kind) => ({ data: { name: normalizedName(requiredString(kind, input, 'name')) } });

const nameAndCreated: Rule = (input, kind) => ({
  data: { name: normalizedName(requiredString(kind, input, 'name')), created: optionalDate(kind, input, 'created') },
});

function textWithOptionalCreated(field: 'content' | 'opinion'): Rule {
  return (input, kind) => {
    const text = pythonStrip(requiredString(kind, input, field));
    const created = optionalDate(kind, input, 'created');
    return { data: created === null ? { [field]: text } : { [field]: text, created } };
  };
}

/** pycti reads the threat actor's OpenCTI type from `x_opencti_type`, then from the OpenCTI extension. */
function threatActorType(input: Input): unknown {
  if (input.opencti_type !== undefined) return input.opencti_type;
  if (input.x_opencti_type !== undefined) return input.x_opencti_type;
  const extensions = input.extensions;
  if (isRecord(extensions)) {
    for (const name of [OPENCTI_SDO_EXTENSION, OPENCTI_SCO_EXTENSION]) {
      const extension = extensions[name];
      if (isRecord(extension) && !isAbsent(extension.type)) return extension.type;
    }
  }
  return 'Threat-Actor-Group';
}

/**
 * Attack patterns and courses of action (pycti 7, opencti#16132): the MITRE id lower-cased and stripped
 * (T1059 and t1059 are one technique), or the name when there is none or it is blank.
 */
function mitreIdOrName(kind: string, input: Input, mitreId: unknown): IdData {
  if (!isAbsent(mitreId)) {
    if (typeof mitreId !== 'string') throw cannotCompute(kind, ['x_mitre_id must be a string']);
    const normalized = normalizedName(mitreId);
    if (normalized !== '') return { data: { x_mitre_id: normalized } };
  }
  return { data: { name: normalizedName(requiredString(kind, input, 'name')) } };
}

const PYCTI_RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  [
    'identity',
    (input, kind) => ({
      data: {
        name: normalizedName(requiredString(kind, input, 'name')),
        // pycti lower-cases the class but does not strip it.
        identity_class: pythonLower(requiredString(kind, input, 'identity_class')),
      },
    }),
  ],
  [
    'location',
    (input, kind) => {
      const locationType = input.x_opencti_location_type ?? null;
      if (locationType === 'Position') {
        const latitude = input.latitude ?? null;
        const longitude = input.longitude ?? null;
        if (latitude !== null && longitude === null) return { data: { latitude } };
        if (latitude === null && longitude !== null) return { data: { longitude } };
        if (latitude !== null && longitude !== null) return { data: { latitude, longitude } };
        return { data: { name: normalizedName(requiredString(kind, input, 'name')) } };
      }
      return {
        data: { name: normalizedName(requiredString(kind, input, 'name')), x_opencti_location_type: locationType },
      };
    },
  ],
  ['indicator', (input, kind) => ({ data: { pattern: pythonStrip(requiredString(kind, input, 'pattern')) } })],
  ['incident', nameAndCreated],
  ['case-incident', nameAndCreated],
  ['case-rfi', nameAndCreated],
  ['case-rft', nameAndCreated],
  ['task', nameAndCreated],
  ['note', textWithOptionalCreated('content')],
  ['opinion', textWithOptionalCreated('opinion')],
  [
    'report',
    (input, kind) => ({
      data: {
        name: normalizedName(requiredString(kind, input, 'name')),
        published: optionalDate(kind, input, 'published'),
      },
    }),
  ],
  [
    'grouping',
    (input, kind) => {
      const name = normalizedName(requiredString(kind, input, 'name'));
      const context = normalizedName(requiredString(kind, input, 'context'));
      const created = optionalDate(kind, input, 'created');
      return { data: created === null ? { name, context } : { name, context, created } };
    },
  ],
  [
    'external-reference',
    (input, kind) => {
      if (!isAbsent(input.url)) return { data: { url: input.url } };
      if (!isAbsent(input.source_name) && !isAbsent(input.external_id)) {
        return { data: { source_name: input.source_name, external_id: input.external_id } };
      }
      throw cannotCompute(kind, ['missing url, or source_name and external_id']);
    },
  ],
  [
    'kill-chain-phase',
    (input, kind) => ({
      data: {
        phase_name: requiredString(kind, input, 'phase_name'),
        kill_chain_name: requiredString(kind, input, 'kill_chain_name'),
      },
    }),
  ],
  ['label', (input, kind) => ({ data: { value: requiredString(kind, input, 'value') } })],
  [
    'marking-definition',
    (input, kind) => {
      const definitionType = input.definition_type;
      const definition = input.definition;
      const missing = [
        ...(isAbsent(definitionType) ? ['missing definition_type'] : []),
        ...(isAbsent(definition) ? ['missing definition'] : []),
      ];
      if (missing.length > 0) throw cannotCompute(kind, missing);
      if (definitionType === 'TLP' && typeof definition === 'string') {
        const staticId = STATIC_TLP_IDS.get(definition);
        if (staticId !== undefined) return { staticId };
      }
      return { data: { definition_type: definitionType, definition } };
    },
  ],
  [
    'relationship',
    (input, kind) => {
      const data: Record<string, unknown> = {
        relationship_type: requiredString(kind, input, 'relationship_type'),
        source_ref: requiredString(kind, input, 'source_ref'),
        target_ref: requiredString(kind, input, 'target_ref'),
      };
      const start = optionalDate(kind, input, 'start_time');
      const stop = optionalDate(kind, input, 'stop_time');
      // stop_time only counts together with start_time.
      if (start !== null) {
        data.start_time = start;
        if (stop !== null) data.stop_time = stop;
      }
      return { data };
    },
  ],
  [
    'sighting',
    (input, kind) => {
      const whereSighted = input.where_sighted_refs;
      if (isAbsent(whereSighted)) throw cannotCompute(kind, ['missing where_sighted_refs']);
      // pycti hashes what it is given: connectors that pass a single id (CrowdSec's sightings) get an id
      // from that string, and a port must reproduce it to avoid duplicates.
      if (!Array.isArray(whereSighted) && typeof whereSighted !== 'string') {
        throw cannotCompute(kind, ['where_sighted_refs must be a list of ids (or one id)']);
      }
      const data: Record<string, unknown> = {
        type: 'sighting',
        sighting_of_ref: requiredString(kind, input, 'sighting_of_ref'),
        where_sighted_refs: whereSighted,
      };
      const first = optionalDate(kind, input, 'first_seen');
      const last = optionalDate(kind, input, 'last_seen');
      if (first !== null) {
        data.first_seen = first;
        if (last !== null) data.last_seen = last;
      }
      return { data };
    },
  ],
  ...[
    'vulnerability',
    'malware',
    'intrusion-set',
    'campaign',
    'tool',
    'infrastructure',
    'channel',
    'narrative',
    'language',
    'data-component',
    'data-source',
    'event',
    'feedback',
  ].map((kind): [string, Rule] => [kind, nameOnly]),
  [
    'threat-actor',
    (input, kind) => ({
      data: { name: normalizedName(requiredString(kind, input, 'name')), opencti_type: threatActorType(input) },
    }),
  ],
  [
    'attack-pattern',
    (input, kind) => {
      // Python's `x_mitre_id or x_opencti_external_id`: an empty string falls through.
      const externalId = pythonTruthy(input.x_mitre_id) ? input.x_mitre_id : input.x_opencti_external_id;
      return mitreIdOrName(kind, input, externalId);
    },
  ],
  ['course-of-action', (input, kind) => mitreIdOrName(kind, input, input.x_mitre_id)],
  [
    'malware-analysis',
    (input, kind) => {
      const data: Record<string, unknown> = {
        result_name: normalizedName(requiredString(kind, input, 'result_name')),
        product: input.product ?? null,
      };
      const submitted = optionalDate(kind, input, 'submitted');
      if (submitted !== null) data.submitted = submitted;
      return { data };
    },
  ],
  [
    'vocabulary',
    (input, kind) => ({
      data: {
        name: normalizedName(requiredString(kind, input, 'name')),
        category: requiredString(kind, input, 'category'),
      },
    }),
  ],
  [
    'observed-data',
    (input, kind) => {
      const refs = input.object_refs;
      if (isAbsent(refs)) throw cannotCompute(kind, ['missing object_refs']);
      if (!Array.isArray(refs)) throw cannotCompute(kind, ['object_refs must be a list']);
      return { data: { objects: refs } };
    },
  ],
  [
    'security-coverage',
    (input, kind) => ({ data: { covered_ref: normalizedName(requiredString(kind, input, 'covered_ref')) } }),
  ],
]);

/** The ID-contributing properties of each observable type (stix2 3.0 and pycti's custom observables). */
export const SCO_ID_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  artifact: ['hashes', 'payload_bin'],
  'autonomous-system': ['number'],
  directory: ['path'],
  'domain-name': ['value'],
  'email-addr': ['value'],
  'email-message': ['from_ref', 'subject', 'body'],
  file: ['hashes', 'name', 'parent_directory_ref', 'extensions'],
  'ipv4-addr': ['value'],
  'ipv6-addr': ['value'],
  'mac-addr': ['value'],
  mutex: ['name'],
  'network-traffic': ['start', 'end', 'src_ref', 'dst_ref', 'src_port', 'dst_port', 'protocols', 'extensions'],
  process: [],
  software: ['name', 'cpe', 'swid', 'vendor', 'version'],
  url: ['value'],
  'user-account': ['account_type', 'user_id', 'account_login'],
  'windows-registry-key': ['key', 'values'],
  'x509-certificate': ['hashes', 'serial_number'],
  hostname: ['value'],
  text: ['value'],
  credential: ['value'],
  'cryptocurrency-wallet': ['value'],
  'phone-number': ['value'],
  'tracking-number': ['value'],
  'user-agent': ['value'],
  'cryptographic-key': ['value'],
  'payment-card': ['card_number'],
  'bank-account': ['iban'],
  'media-content': ['url'],
  persona: ['persona_name', 'persona_type'],
};

/** Hash names stix2 recognises (after removing '-' and upper-casing) and the STIX 2.1 name it stores. */
const HASH_SPEC_NAMES: ReadonlyMap<string, string> = new Map([
  ['MD5', 'MD5'],
  ['SHA1', 'SHA-1'],
  ['SHA256', 'SHA-256'],
  ['SHA512', 'SHA-512'],
  ['SHA3256', 'SHA3-256'],
  ['SHA3512', 'SHA3-512'],
  ['SSDEEP', 'SSDEEP'],
  ['TLSH', 'TLSH'],
]);

const HASH_PREFERENCE = ['MD5', 'SHA-1', 'SHA-256', 'SHA-512'] as const;

/** Normalises hash names the way stix2's HashesProperty does (`sha256` → `SHA-256`). */
export function normalizeHashes(hashes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const normalized: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(hashes)) {
    normalized[HASH_SPEC_NAMES.get(name.replaceAll('-', '').toUpperCase()) ?? name] = value;
  }
  return normalized;
}

/** stix2 hashes exactly one hash: MD5, else SHA-1, SHA-256, SHA-512, else the first one given. */
function chooseOneHash(hashes: Record<string, unknown>): Record<string, unknown> | undefined {
  for (const name of HASH_PREFERENCE) {
    if (Object.hasOwn(hashes, name)) return { [name]: hashes[name] };
  }
  const first = Object.keys(hashes)[0];
  return first === undefined ? undefined : { [first]: hashes[first] };
}

/** stix2's IntegerProperty: `int(value)`, so "15169" and 15169 hash alike. */
function coerceInteger(kind: string, field: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*[+-]?\d+(?:_\d+)*\s*$/.test(value)) {
    return Number.parseInt(value.replaceAll('_', '').trim(), 10);
  }
  throw cannotCompute(kind, [`${field} must be an integer, got ${JSON.stringify(value) ?? typeof value}`]);
}

const STIX_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/;

/** stix2's TimestampProperty round trip: parsed, then printed with the fraction's trailing zeros dropped. */
function stixTimestamp(kind: string, field: string, value: unknown): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw cannotCompute(kind, [`${field} is an invalid Date`]);
    return stixTimestamp(kind, field, value.toISOString());
  }
  const match = typeof value === 'string' ? STIX_TIMESTAMP.exec(value) : null;
  if (match === null) throw cannotCompute(kind, [`${field} must be a timestamp like 2024-01-01T00:00:00Z`]);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  return fraction === '' ? `${match[1]}Z` : `${match[1]}.${fraction}Z`;
}

function isEmptyValue(value: unknown): boolean {
  if (isAbsent(value)) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isRecord(value) && Object.keys(value).length === 0;
}

function observableData(type: string, input: Input): IdData {
  const properties = SCO_ID_PROPERTIES[type];
  if (properties === undefined) throw unknownKind(type);
  if (properties.length === 0) {
    throw cannotCompute(type, [
      `STIX 2.1 defines no ID-contributing property for ${type}: it would get a random id, which connectors never send`,
    ]);
  }
  const data: Record<string, unknown> = {};
  for (const field of properties) {
    const value = input[field];
    // stix2 drops None and [] before computing the id; an empty dict carries nothing either.
    if (isEmptyValue(value)) continue;
    if (field === 'hashes') {
      if (!isRecord(value)) throw cannotCompute(type, ['hashes must be an object of algorithm → value']);
      const chosen = chooseOneHash(normalizeHashes(value));
      if (chosen !== undefined) data.hashes = chosen;
    } else if (field === 'number' || field === 'src_port' || field === 'dst_port') {
      data[field] = coerceInteger(type, field, value);
    } else if (type === 'network-traffic' && (field === 'start' || field === 'end')) {
      data[field] = stixTimestamp(type, field, value);
    } else {
      data[field] = value;
    }
  }
  if (Object.keys(data).length === 0) {
    throw cannotCompute(type, [`none of its ID-contributing properties is set (${properties.join(', ')})`]);
  }
  return { data };
}

function unknownKind(kind: string): BundleError {
  return new BundleError(`Cannot compute a deterministic id: unknown STIX type '${kind}'`);
}

/** Whether `generateId` knows `kind` (a pycti entity type or an observable type). */
export function isIdKindSupported(kind: string): boolean {
  return PYCTI_RULES.has(kind) || SCO_ID_PROPERTIES[kind] !== undefined;
}

/** True for the observable (SCO) types whose ids follow the stix2 rule. */
export function isObservableType(type: string): boolean {
  return SCO_ID_PROPERTIES[type] !== undefined;
}

/** The id together with the exact text that was hashed (absent for the fixed TLP ids). */
export interface IdExplanation {
  id: string;
  canonical?: string;
}

/** Like `generateId`, and also returns the canonical text that was hashed: for tests and debugging. */
export function explainId(kind: string, input: Readonly<Record<string, unknown>>): IdExplanation {
  if (typeof input !== 'object' || input === null) {
    throw new BundleError(`Cannot compute a deterministic ${kind} id`, ['input must be an object']);
  }
  const rule = PYCTI_RULES.get(kind);
  const idData = rule !== undefined ? rule(input, kind) : observableData(kind, input);
  if ('staticId' in idData) return { id: idData.staticId };
  let canonical: string;
  try {
    canonical = canonicalize(idData.data);
  } catch (err) {
    throw new BundleError(
      `Cannot compute a deterministic ${kind} id`,
      [err instanceof Error ? err.message : String(err)],
      { cause: err },
    );
  }
  return { id: `${kind}--${uuidV5(OASIS_NAMESPACE, canonical)}`, canonical };
}

/**
 * The deterministic id of a STIX object of type `kind`, from its properties (STIX property names;
 * dates as ISO strings, which are hashed verbatim, or `Date`s, which are hashed as Python's
 * `isoformat()` would print them).
 *
 * - pycti types (identity, indicator, relationship, report, …): pycti 7's `generate_id` rule.
 * - observable types (ipv4-addr, file, user-agent, …): stix2's rule over the ID-contributing
 *   properties; other properties are ignored, null/[] are dropped, hash names normalised and one
 *   hash chosen, autonomous-system numbers coerced to integers.
 *
 * @throws BundleError naming the kind and what is missing when no id can be computed (including
 *   `process`, which STIX leaves random, and unknown kinds).
 */
export function generateId(kind: string, input: Readonly<Record<string, unknown>>): string {
  return explainId(kind, input).id;
}

/** Dates accepted by the id helpers: ISO strings (hashed verbatim), Dates, or nothing. */
export type IdDate = string | Date | null | undefined;

export function identityId(name: string, identityClass: string): string {
  return generateId('identity', { name, identity_class: identityClass });
}

/** `locationType` is OpenCTI's: 'Country', 'City', 'Region', 'Administrative-Area' or 'Position'. */
export function locationId(
  name: string,
  locationType: string,
  position?: { latitude?: number | null; longitude?: number | null },
): string {
  return generateId('location', { name, x_opencti_location_type: locationType, ...position });
}

export function indicatorId(pattern: string): string {
  return generateId('indicator', { pattern });
}

export function incidentId(name: string, created: IdDate): string {
  return generateId('incident', { name, created });
}

export function noteId(content: string, created?: IdDate): string {
  return generateId('note', { content, created });
}

export function reportId(name: string, published: IdDate): string {
  return generateId('report', { name, published });
}

export function relationshipId(
  relationshipType: string,
  sourceRef: string,
  targetRef: string,
  startTime?: IdDate,
  stopTime?: IdDate,
): string {
  return generateId('relationship', {
    relationship_type: relationshipType,
    source_ref: sourceRef,
    target_ref: targetRef,
    start_time: startTime,
    stop_time: stopTime,
  });
}

export function sightingId(
  sightingOfRef: string,
  whereSightedRefs: readonly string[],
  firstSeen?: IdDate,
  lastSeen?: IdDate,
): string {
  return generateId('sighting', {
    sighting_of_ref: sightingOfRef,
    where_sighted_refs: whereSightedRefs,
    first_seen: firstSeen,
    last_seen: lastSeen,
  });
}

export function vulnerabilityId(name: string): string {
  return generateId('vulnerability', { name });
}

export function malwareId(name: string): string {
  return generateId('malware', { name });
}

export function attackPatternId(name: string, xMitreId?: string | null): string {
  return generateId('attack-pattern', { name, x_mitre_id: xMitreId });
}

export function threatActorId(
  name: string,
  openctiType: 'Threat-Actor-Group' | 'Threat-Actor-Individual' = 'Threat-Actor-Group',
): string {
  return generateId('threat-actor', { name, opencti_type: openctiType });
}

export function labelId(value: string): string {
  return generateId('label', { value });
}

export function markingDefinitionId(definitionType: string, definition: string): string {
  return generateId('marking-definition', { definition_type: definitionType, definition });
}

export function externalReferenceId(reference: {
  url?: string | null | undefined;
  source_name?: string | null | undefined;
  external_id?: string | null | undefined;
}): string {
  return generateId('external-reference', reference);
}

export function killChainPhaseId(phase: { kill_chain_name: string; phase_name: string }): string {
  return generateId('kill-chain-phase', phase);
}

/** The stix2 deterministic id of an observable of `type` with properties `props`. */
export function observableId(type: string, props: Readonly<Record<string, unknown>>): string {
  if (!isObservableType(type)) throw unknownKind(type);
  return generateId(type, props);
}
