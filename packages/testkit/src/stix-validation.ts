/**
 * A STIX 2.1 conformance check for what connectors send: the MUSTs of the specification (OASIS STIX 2.1,
 * sections 2 to 7) that a strict consumer — a TAXII server, the OASIS validator, the stix2 library —
 * rejects an object for. Per object: the common properties of its kind (SDO, SRO, SCO, marking), the
 * properties its type requires, identifiers of the form `<type>--<RFC 4122 UUID>`, timestamps in RFC 3339
 * UTC (`created`/`modified` precise to the millisecond, `modified` not before `created`), references to
 * objects of the right types, non-empty lists, ranges (confidence, counts, coordinates) and property names.
 *
 * It checks one object at a time, so it works on the split messages the worker receives; whether a
 * reference resolves is the SDK's bundle check (`validateBundle`), not this one.
 */

/** STIX Domain Objects (section 4). */
const SDO_REQUIRED: Readonly<Record<string, readonly string[]>> = {
  'attack-pattern': ['name'],
  campaign: ['name'],
  'course-of-action': ['name'],
  grouping: ['context', 'object_refs'],
  identity: ['name'],
  incident: ['name'],
  indicator: ['pattern', 'pattern_type', 'valid_from'],
  infrastructure: ['name'],
  'intrusion-set': ['name'],
  location: [],
  malware: ['is_family'],
  'malware-analysis': ['product'],
  note: ['content', 'object_refs'],
  'observed-data': ['first_observed', 'last_observed', 'number_observed'],
  opinion: ['opinion', 'object_refs'],
  report: ['name', 'published', 'object_refs'],
  'threat-actor': ['name'],
  tool: ['name'],
  vulnerability: ['name'],
};

/** STIX Relationship Objects (section 5). */
const SRO_REQUIRED: Readonly<Record<string, readonly string[]>> = {
  relationship: ['relationship_type', 'source_ref', 'target_ref'],
  sighting: ['sighting_of_ref'],
};

/**
 * STIX Cyber-observable Objects (section 6), and the observable types OpenCTI adds (declared by its SCO
 * extension definition), with the properties each requires. An empty list: at least one property rule
 * checked below, or none.
 */
const SCO_REQUIRED: Readonly<Record<string, readonly string[]>> = {
  artifact: [],
  'autonomous-system': ['number'],
  directory: ['path'],
  'domain-name': ['value'],
  'email-addr': ['value'],
  'email-message': ['is_multipart'],
  file: [],
  'ipv4-addr': ['value'],
  'ipv6-addr': ['value'],
  'mac-addr': ['value'],
  mutex: ['name'],
  'network-traffic': ['protocols'],
  process: [],
  software: ['name'],
  url: ['value'],
  'user-account': [],
  'windows-registry-key': [],
  'x509-certificate': [],
  // OpenCTI's observable types.
  'bank-account': ['iban'],
  credential: ['value'],
  'cryptocurrency-wallet': ['value'],
  'cryptographic-key': ['value'],
  hostname: ['value'],
  'media-content': ['url'],
  'payment-card': ['card_number'],
  persona: ['persona_name', 'persona_type'],
  'phone-number': ['value'],
  text: ['value'],
  'tracking-number': ['value'],
  'user-agent': ['value'],
};

/** STIX Meta Objects (section 7) and the properties they require besides the common ones. */
const META_REQUIRED: Readonly<Record<string, readonly string[]>> = {
  'marking-definition': [],
  'language-content': ['object_ref', 'contents'],
  'extension-definition': ['created_by_ref', 'name', 'schema', 'version', 'extension_types'],
};

const SDO_TYPES = new Set(Object.keys(SDO_REQUIRED));
const SCO_TYPES = new Set(Object.keys(SCO_REQUIRED));

/** The predefined SCO extensions (section 6); any other key must be an extension definition's id. */
const PREDEFINED_EXTENSIONS = new Set([
  'archive-ext',
  'ntfs-ext',
  'pdf-ext',
  'raster-image-ext',
  'windows-pebinary-ext',
  'http-request-ext',
  'icmp-ext',
  'socket-ext',
  'tcp-ext',
  'windows-process-ext',
  'windows-service-ext',
  'unix-account-ext',
]);

/** Properties of type timestamp (section 2.14) wherever they appear at the top level. */
const TIMESTAMP_PROPERTIES = [
  'created',
  'modified',
  'valid_from',
  'valid_until',
  'first_seen',
  'last_seen',
  'published',
  'first_observed',
  'last_observed',
  'start_time',
  'stop_time',
  'analysis_started',
  'analysis_ended',
  'submitted',
  'ctime',
  'mtime',
  'atime',
  'date',
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
] as const;

/** Pairs of timestamps where the second must not come before the first (strictly after when `strict`). */
const ORDERED_TIMESTAMPS: ReadonlyArray<{ first: string; later: string; strict: boolean }> = [
  { first: 'created', later: 'modified', strict: false },
  { first: 'valid_from', later: 'valid_until', strict: true },
  { first: 'first_seen', later: 'last_seen', strict: false },
  { first: 'first_observed', later: 'last_observed', strict: false },
  { first: 'start_time', later: 'stop_time', strict: true },
];

/** Reference properties whose targets must be of given types. */
const REFERENCE_TYPES: Readonly<Record<string, readonly string[]>> = {
  created_by_ref: ['identity'],
  x_opencti_created_by_ref: ['identity'],
  object_marking_refs: ['marking-definition'],
  where_sighted_refs: ['identity', 'location'],
  observed_data_refs: ['observed-data'],
  sample_refs: ['file', 'artifact'],
};

/** SCO references whose target types the specification fixes, by observable type. */
const SCO_REFERENCE_TYPES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  'ipv4-addr': { resolves_to_refs: ['mac-addr'], belongs_to_refs: ['autonomous-system'] },
  'ipv6-addr': { resolves_to_refs: ['mac-addr'], belongs_to_refs: ['autonomous-system'] },
  'domain-name': { resolves_to_refs: ['ipv4-addr', 'ipv6-addr', 'domain-name'] },
  'email-addr': { belongs_to_ref: ['user-account'] },
};

/** Types a relationship may not point at: it links SDOs and SCOs. */
const NOT_RELATABLE = new Set(['relationship', 'sighting', 'marking-definition', 'language-content', 'bundle']);

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const TYPE_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const IDENTIFIER = new RegExp(`^([a-z0-9]+(?:-[a-z0-9]+)*)--${UUID}$`);
const EXTENSION_DEFINITION_KEY = new RegExp(`^extension-definition--${UUID}$`);
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;
const PROPERTY_NAME = /^[a-z0-9_]+$/;
const TLP_COLOURS = new Set(['white', 'green', 'amber', 'red']);

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The kind of a STIX type, or null for a type this specification does not define. */
export function stixKindOf(type: string): 'sdo' | 'sro' | 'sco' | 'meta' | null {
  if (SDO_TYPES.has(type)) return 'sdo';
  if (type in SRO_REQUIRED) return 'sro';
  if (SCO_TYPES.has(type)) return 'sco';
  if (type in META_REQUIRED) return 'meta';
  return null;
}

/** The type part of a well-formed identifier, or null. */
function typeOfIdentifier(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  return IDENTIFIER.exec(value)?.[1] ?? null;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Why `value` is not an RFC 3339 UTC timestamp, or null. `millis`: precise to the millisecond too. */
function timestampProblem(value: unknown, millis: boolean): string | null {
  if (typeof value !== 'string') return `${JSON.stringify(value)} is not a timestamp string`;
  const match = TIMESTAMP.exec(value);
  if (!match) return `'${value}' is not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z)`;
  const [, year, month, day, hour, minute, second, fraction] = match;
  const daysInMonth = daysIn(Number(year), Number(month));
  if (
    Number(month) < 1 ||
    Number(month) > 12 ||
    Number(day) < 1 ||
    Number(day) > daysInMonth ||
    Number(hour) > 23 ||
    Number(minute) > 59 ||
    Number(second) > 60
  ) {
    return `'${value}' is not a valid date and time`;
  }
  if (millis && (fraction === undefined || fraction.length < 4)) {
    return `'${value}' is not precise to the millisecond (STIX requires at least three fractional digits here)`;
  }
  return null;
}

function checkReference(problems: string[], where: string, value: unknown, allowed: readonly string[] | null): void {
  const type = typeOfIdentifier(value);
  if (type === null) {
    problems.push(`${where}: ${JSON.stringify(value)} is not an identifier '<type>--<UUID>'`);
    return;
  }
  if (allowed !== null && !allowed.includes(type)) {
    problems.push(`${where}: refers to a ${type}, expected ${allowed.join(' or ')}`);
  }
}

/** The references of `object` and the types their targets may have (null: any well-formed identifier). */
function* referencesOf(
  object: Json,
  type: string,
): Generator<[property: string, ref: unknown, allowed: readonly string[] | null]> {
  const scoRules = SCO_REFERENCE_TYPES[type] ?? {};
  for (const [key, value] of Object.entries(object)) {
    if (value === null || value === undefined) continue;
    if (!key.endsWith('_ref') && !key.endsWith('_refs')) continue;
    let allowed: readonly string[] | null = REFERENCE_TYPES[key] ?? scoRules[key] ?? null;
    if (type === 'sighting' && key === 'sighting_of_ref') allowed = [...SDO_TYPES];
    const list = key.endsWith('_refs');
    if (list && !Array.isArray(value)) {
      yield [key, value, allowed];
      continue;
    }
    for (const ref of list ? (value as unknown[]) : [value]) yield [key, ref, allowed];
  }
}

function checkExternalReferences(problems: string[], id: string, value: unknown, property: string): void {
  if (!Array.isArray(value)) {
    problems.push(`${id}: ${property} is not a list`);
    return;
  }
  value.forEach((ref, i) => {
    const where = `${id}: ${property}[${i}]`;
    if (!isRecord(ref)) {
      problems.push(`${where} is not an object`);
      return;
    }
    if (typeof ref.source_name !== 'string' || ref.source_name === '') problems.push(`${where} has no source_name`);
    if (ref.description === undefined && ref.url === undefined && ref.external_id === undefined) {
      problems.push(`${where} needs at least one of description, url, external_id`);
    }
  });
}

function checkTypeSpecific(problems: string[], id: string, type: string, o: Json): void {
  switch (type) {
    case 'indicator':
      if (typeof o.pattern === 'string' && o.pattern_type === 'stix' && !/^\s*\[/.test(o.pattern)) {
        problems.push(`${id}: a STIX pattern starts with an observation expression '[...]'`);
      }
      break;
    case 'malware':
      if (o.is_family !== undefined && typeof o.is_family !== 'boolean')
        problems.push(`${id}: is_family is not a boolean`);
      if (o.is_family === true && (typeof o.name !== 'string' || o.name === '')) {
        problems.push(`${id}: a malware family (is_family true) needs a name`);
      }
      break;
    case 'location': {
      const hasLatitude = o.latitude !== undefined;
      const hasLongitude = o.longitude !== undefined;
      if (o.region === undefined && o.country === undefined && !(hasLatitude && hasLongitude)) {
        problems.push(`${id}: a location needs region, country, or latitude and longitude`);
      }
      if (hasLatitude !== hasLongitude) problems.push(`${id}: latitude and longitude go together`);
      if (o.precision !== undefined && !(hasLatitude && hasLongitude)) {
        problems.push(`${id}: precision needs latitude and longitude`);
      }
      if (hasLatitude && !(typeof o.latitude === 'number' && o.latitude >= -90 && o.latitude <= 90)) {
        problems.push(`${id}: latitude ${JSON.stringify(o.latitude)} is not within -90..90`);
      }
      if (hasLongitude && !(typeof o.longitude === 'number' && o.longitude >= -180 && o.longitude <= 180)) {
        problems.push(`${id}: longitude ${JSON.stringify(o.longitude)} is not within -180..180`);
      }
      break;
    }
    case 'malware-analysis':
      if (o.result === undefined && o.analysis_sco_refs === undefined) {
        problems.push(`${id}: a malware analysis needs result or analysis_sco_refs`);
      }
      break;
    case 'observed-data':
      if (!isCount(o.number_observed, 1)) problems.push(`${id}: number_observed is not an integer within 1..999999999`);
      if (o.objects === undefined && o.object_refs === undefined) problems.push(`${id}: needs object_refs`);
      break;
    case 'sighting':
      if (o.count !== undefined && !isCount(o.count, 0))
        problems.push(`${id}: count is not an integer within 0..999999999`);
      break;
    case 'relationship':
      for (const key of ['source_ref', 'target_ref'] as const) {
        const target = typeOfIdentifier(o[key]);
        if (target !== null && NOT_RELATABLE.has(target)) {
          problems.push(`${id}: ${key} refers to a ${target}; a relationship links SDOs and SCOs`);
        }
      }
      break;
    case 'file':
      if (o.hashes === undefined && o.name === undefined) problems.push(`${id}: a file needs hashes or name`);
      break;
    case 'artifact':
      if ((o.payload_bin === undefined) === (o.url === undefined)) {
        problems.push(`${id}: an artifact has exactly one of payload_bin and url`);
      }
      if (o.url !== undefined && o.hashes === undefined) problems.push(`${id}: an artifact with a url needs hashes`);
      break;
    case 'network-traffic':
      if (o.src_ref === undefined && o.dst_ref === undefined) {
        problems.push(`${id}: network traffic needs src_ref or dst_ref`);
      }
      break;
    case 'autonomous-system':
      if (o.number !== undefined && !Number.isInteger(o.number)) problems.push(`${id}: number is not an integer`);
      break;
    case 'marking-definition':
      checkMarking(problems, id, o);
      break;
  }
}

function isCount(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= 999_999_999;
}

function checkMarking(problems: string[], id: string, o: Json): void {
  if (o.extensions !== undefined) return;
  if (o.definition_type === undefined) problems.push(`${id}: a marking without extensions needs definition_type`);
  if (!isRecord(o.definition)) {
    problems.push(`${id}: a marking without extensions needs a definition object`);
    return;
  }
  if (o.definition_type === 'tlp' && !TLP_COLOURS.has(String(o.definition.tlp))) {
    problems.push(`${id}: a tlp definition is one of white, green, amber, red`);
  }
  if (o.definition_type === 'statement' && typeof o.definition.statement !== 'string') {
    problems.push(`${id}: a statement definition needs a statement`);
  }
}

/** Every way `object` breaks a MUST of STIX 2.1, as lines naming the object and the property. Empty when valid. */
export function stixObjectViolations(object: unknown): string[] {
  if (!isRecord(object)) return [`${JSON.stringify(object)?.slice(0, 60) ?? String(object)} is not a JSON object`];
  const problems: string[] = [];
  const type = object.type;
  const id = typeof object.id === 'string' ? object.id : `(${typeof type === 'string' ? type : 'object'} without id)`;
  if (typeof type !== 'string' || !TYPE_NAME.test(type) || type.length < 3 || type.length > 250) {
    problems.push(`${id}: type ${JSON.stringify(type)} is not a STIX type name (3-250 of a-z, 0-9, hyphen)`);
    return problems;
  }
  const kind = stixKindOf(type);
  if (kind === null) problems.push(`${id}: '${type}' is not a STIX 2.1 type`);
  if (typeof object.id !== 'string') problems.push(`${id}: missing required property 'id'`);
  else if (typeOfIdentifier(object.id) !== type) {
    problems.push(`${id}: id is not '${type}--<UUID>' with an RFC 4122 UUID`);
  }

  // Common properties (sections 3.2 and 6.1): SCOs may leave out spec_version; nothing else may.
  if (object.spec_version === undefined) {
    if (kind !== 'sco') problems.push(`${id}: missing required property 'spec_version'`);
  } else if (object.spec_version !== '2.1') {
    problems.push(`${id}: spec_version is ${JSON.stringify(object.spec_version)}, not '2.1'`);
  }
  const dated = kind === 'sdo' || kind === 'sro' || kind === null || (kind === 'meta' && type !== 'marking-definition');
  const required = [
    ...(dated ? ['created', 'modified'] : []),
    ...(type === 'marking-definition' ? ['created'] : []),
    ...(SDO_REQUIRED[type] ?? SRO_REQUIRED[type] ?? SCO_REQUIRED[type] ?? META_REQUIRED[type] ?? []),
  ];
  for (const property of required) {
    if (object[property] === undefined || object[property] === null) {
      problems.push(`${id}: missing required property '${property}'`);
    } else if (object[property] === '') {
      problems.push(`${id}: required property '${property}' is empty`);
    }
  }

  for (const property of TIMESTAMP_PROPERTIES) {
    if (object[property] === undefined) continue;
    const millis = (property === 'created' || property === 'modified') && kind !== 'sco';
    const problem = timestampProblem(object[property], millis);
    if (problem !== null) problems.push(`${id}: ${property} ${problem}`);
  }
  for (const { first, later, strict } of ORDERED_TIMESTAMPS) {
    const a = typeof object[first] === 'string' ? Date.parse(object[first] as string) : Number.NaN;
    const b = typeof object[later] === 'string' ? Date.parse(object[later] as string) : Number.NaN;
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    if (strict ? b <= a : b < a) problems.push(`${id}: ${later} must be ${strict ? 'after' : 'at or after'} ${first}`);
  }

  for (const [property, value] of Object.entries(object)) {
    if (!PROPERTY_NAME.test(property) || property.length > 250) {
      problems.push(`${id}: property name '${property}' is not 1-250 of a-z, 0-9, underscore`);
    }
    if (Array.isArray(value) && value.length === 0 && !property.startsWith('x_')) {
      problems.push(`${id}: ${property} is an empty list (a STIX list has at least one item)`);
    }
  }
  for (const [property, ref, allowed] of referencesOf(object, type)) {
    checkReference(problems, `${id}: ${property}`, ref, allowed);
  }

  if (object.confidence !== undefined) {
    const c = object.confidence;
    if (!(typeof c === 'number' && Number.isInteger(c) && c >= 0 && c <= 100)) {
      problems.push(`${id}: confidence ${JSON.stringify(c)} is not an integer within 0..100`);
    }
  }
  if (object.revoked !== undefined && typeof object.revoked !== 'boolean')
    problems.push(`${id}: revoked is not a boolean`);
  if (
    object.labels !== undefined &&
    !(Array.isArray(object.labels) && object.labels.every((l) => typeof l === 'string'))
  ) {
    problems.push(`${id}: labels is not a list of strings`);
  }
  if (object.external_references !== undefined) {
    checkExternalReferences(problems, id, object.external_references, 'external_references');
  }
  if (object.kill_chain_phases !== undefined) {
    const phases = object.kill_chain_phases;
    if (
      !Array.isArray(phases) ||
      phases.some((p) => !isRecord(p) || typeof p.kill_chain_name !== 'string' || typeof p.phase_name !== 'string')
    ) {
      problems.push(`${id}: kill_chain_phases needs kill_chain_name and phase_name on every phase`);
    }
  }
  if (object.granular_markings !== undefined) {
    const markings = object.granular_markings;
    if (!Array.isArray(markings)) problems.push(`${id}: granular_markings is not a list`);
    else
      markings.forEach((m, i) => {
        if (!isRecord(m) || !Array.isArray(m.selectors) || m.selectors.length === 0) {
          problems.push(`${id}: granular_markings[${i}] needs selectors`);
        } else if (m.marking_ref !== undefined) {
          checkReference(problems, `${id}: granular_markings[${i}].marking_ref`, m.marking_ref, ['marking-definition']);
        } else if (typeof m.lang !== 'string')
          problems.push(`${id}: granular_markings[${i}] needs marking_ref or lang`);
      });
  }
  if (object.extensions !== undefined) {
    if (!isRecord(object.extensions)) problems.push(`${id}: extensions is not a dictionary`);
    else
      for (const [key, extension] of Object.entries(object.extensions)) {
        if (!PREDEFINED_EXTENSIONS.has(key) && !EXTENSION_DEFINITION_KEY.test(key)) {
          problems.push(`${id}: extension '${key}' is neither predefined nor an extension-definition id`);
        }
        if (!isRecord(extension)) problems.push(`${id}: extension '${key}' is not an object`);
      }
  }
  checkTypeSpecific(problems, id, type, object);
  return problems;
}

/** Every violation in a bundle: its own shape, then each object's (see {@link stixObjectViolations}). */
export function stixBundleViolations(bundle: unknown): string[] {
  if (!isRecord(bundle)) return ['the bundle is not a JSON object'];
  const problems: string[] = [];
  if (bundle.type !== 'bundle') problems.push(`bundle: type is ${JSON.stringify(bundle.type)}, not 'bundle'`);
  if (typeOfIdentifier(bundle.id) !== 'bundle')
    problems.push(`bundle: id ${JSON.stringify(bundle.id)} is not 'bundle--<UUID>'`);
  if (bundle.objects === undefined) return problems;
  if (!Array.isArray(bundle.objects)) return [...problems, 'bundle: objects is not a list'];
  if (bundle.objects.length === 0) problems.push('bundle: objects is an empty list');
  for (const object of bundle.objects) problems.push(...stixObjectViolations(object));
  return problems;
}

/** Thrown by {@link assertValidStix}: every violation, one per line. */
export class StixViolationError extends Error {
  constructor(
    what: string,
    readonly violations: readonly string[],
  ) {
    super(`${what} is not valid STIX 2.1 (${violations.length} violations):\n  ${violations.join('\n  ')}`);
    this.name = 'StixViolationError';
  }
}

/** Throws a {@link StixViolationError} listing every violation of `bundle`; `what` names it in the message. */
export function assertValidStix(bundle: unknown, what = 'the bundle'): void {
  const violations = stixBundleViolations(bundle);
  if (violations.length > 0) throw new StixViolationError(what, violations);
}
