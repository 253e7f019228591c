/**
 * Scout's STIX bundle → the bundle sent to OpenCTI. Scout already speaks STIX, so this is upstream's
 * filter-and-pass-through (internal-enrichment/team-cymru-scout, pure_signal_scout/connector.py at
 * 58688b5eb9) with the vendor's ids kept:
 *
 * - objects: `network-traffic` and invalid or wildcard domains (see domain.ts) are dropped;
 * - relationships: dropped when an end is a dropped domain or a network-traffic, when an object points to
 *   itself (upstream: a domain only), when it is `issued-in`, or when (source type, target type, type) is
 *   in the unresolvable list; indicator→observable `indicates` becomes `based-on`, ip→identity `owned-by` and ip↔ip
 *   `communicates-with` become `related-to`;
 * - the author `Team Cymru` is added and set as creator (`x_opencti_created_by_ref` on observables).
 *
 * Differences, on purpose: references that resolve neither in the bundle nor on the platform are cleaned
 * here as pycti's `cleanup_inconsistent_bundle` would (a relationship or sighting losing an end is dropped,
 * other references are removed), so the bundle sent is sound; and when Scout's observable for the enriched
 * value carries another id than the entity's, a `related-to` links the entity to it.
 */
import { isIP } from 'node:net';
import {
  assembleBundle,
  buildAuthor,
  buildRelationship,
  type EnrichmentEntity,
  type ExternalReference,
  type Identity,
  isObservableType,
  type StixBundle,
  type StixObject,
  tlpOfMarkingId,
} from '@cti/connector-sdk';
import type { ScoutObject } from './client.js';
import { isValidStrictDomain } from './domain.js';

export const AUTHOR_NAME = 'Team Cymru';
export const SCOUT_REFERENCE: ExternalReference = {
  source_name: 'Team Cymru Scout',
  url: 'https://www.team-cymru.com/pure-signal',
  description: 'Team Cymru Scout Search API',
};

/** The author of everything sent: the organization `Team Cymru`, with pycti's id for it. */
export function scoutAuthor(): Identity {
  return buildAuthor(AUTHOR_NAME, undefined, { external_references: [SCOUT_REFERENCE] });
}

const IP_TYPES = new Set(['ipv4-addr', 'ipv6-addr']);
const OBSERVED_BY_INDICATORS = new Set(['ipv4-addr', 'ipv6-addr', 'domain-name']);

/** The type part of a STIX id, '' when the value is not an id (as upstream splits it). */
function typeOfRef(ref: unknown): string {
  return typeof ref === 'string' && ref.includes('--') ? (ref.split('--')[0] ?? '') : '';
}

/** Relationships upstream drops because OpenCTI cannot resolve them, keyed `source|target|type`. */
const UNRESOLVABLE = new Set([
  'network-traffic|location|located-at',
  'network-traffic|autonomous-system|belongs-to',
  'x509-certificate|autonomous-system|belongs-to',
  'domain-name|domain-name|uses',
  'ipv4-addr|x509-certificate|uses',
  'ipv6-addr|x509-certificate|uses',
]);

/**
 * What becomes of a relationship `sourceType -[type]-> targetType`: its (possibly rewritten) type, or
 * null when it is dropped. Ends that were themselves dropped are handled by the caller.
 */
export function rewriteRelationship(sourceType: string, targetType: string, type: string): string | null {
  if (type === 'issued-in') return null;
  if (UNRESOLVABLE.has(`${sourceType}|${targetType}|${type}`)) return null;
  if (type === 'indicates' && sourceType === 'indicator' && OBSERVED_BY_INDICATORS.has(targetType)) return 'based-on';
  if (type === 'owned-by' && IP_TYPES.has(sourceType) && targetType === 'identity') return 'related-to';
  if (type === 'communicates-with' && IP_TYPES.has(sourceType) && sourceType === targetType) return 'related-to';
  return type;
}

/**
 * Upstream's `process_stix_data` without the author: the objects kept, in the vendor's order, relationships
 * rewritten (as copies: the input is not modified). Any self loop is dropped (upstream: domains only). A
 * relationship is dropped when either end is a dropped domain wherever that domain appears in the bundle
 * (upstream only sees domains listed before the relationship; the later ones dangle and are cleaned at
 * sending, so the result is the same).
 */
export function filterScoutObjects(objects: readonly ScoutObject[]): ScoutObject[] {
  const droppedDomains = new Set<string>();
  for (const object of objects) {
    if (object.type === 'domain-name' && !isValidStrictDomain(object.value)) droppedDomains.add(object.id);
  }
  const kept: ScoutObject[] = [];
  for (const object of objects) {
    if (object.type === 'network-traffic' || droppedDomains.has(object.id)) continue;
    if (object.type !== 'relationship') {
      kept.push(object);
      continue;
    }
    const source = String(object.source_ref);
    const target = String(object.target_ref);
    const sourceType = typeOfRef(source);
    const targetType = typeOfRef(target);
    if (droppedDomains.has(source) || droppedDomains.has(target)) continue;
    if (sourceType === 'network-traffic' || targetType === 'network-traffic') continue;
    // Upstream drops domain self loops only; one from any object to itself says nothing either.
    if (source === target) continue;
    const type = rewriteRelationship(sourceType, targetType, String(object.relationship_type));
    if (type === null) continue;
    kept.push(type === object.relationship_type ? object : { ...object, relationship_type: type });
  }
  return kept;
}

/** The creator: `x_opencti_created_by_ref` on observables (where OpenCTI reads it), `created_by_ref` elsewhere. */
function withAuthor(object: ScoutObject, authorId: string): ScoutObject {
  if (object.type === 'marking-definition') return object;
  if (isObservableType(object.type)) {
    const { created_by_ref: _vendorCreator, ...rest } = object;
    return { ...rest, x_opencti_created_by_ref: authorId } as ScoutObject;
  }
  return { ...object, created_by_ref: authorId };
}

/**
 * pycti's `cleanup_inconsistent_bundle`, done before sending so the bundle is sound: a reference that
 * resolves neither in the bundle nor to `external` is removed; a relationship or a sighting that loses an
 * end is dropped, and so, in turn, is what referenced it.
 *
 * Linear in the bundle: each id that disappears notifies the relationships and sightings depending on it
 * once (a chain of relationships pointing at relationships used to take one pass over the bundle per link).
 */
export function dropDanglingReferences(objects: readonly ScoutObject[], external: ReadonlySet<string>): ScoutObject[] {
  /** Copies of each id still kept (an id may repeat; it resolves while one copy is left). */
  const copies = new Map<string, number>();
  for (const object of objects) copies.set(object.id, (copies.get(object.id) ?? 0) + 1);
  const permanent = (ref: string): boolean => external.has(ref) || tlpOfMarkingId(ref) !== undefined;
  const resolves = (ref: unknown): ref is string => typeof ref === 'string' && (copies.has(ref) || permanent(ref));

  const dropped = new Uint8Array(objects.length);
  /** Per sighting: its `where_sighted_refs` entries that still resolve. */
  const whereLeft = new Int32Array(objects.length);
  /** Per id: the objects that lose an end (`end`) or a place (`where`) when its last copy is dropped. */
  const dependents = new Map<string, Array<{ index: number; where: boolean }>>();
  const pending: number[] = [];
  const dependOn = (ref: string, index: number, where: boolean): void => {
    if (permanent(ref)) return;
    const list = dependents.get(ref);
    if (list === undefined) dependents.set(ref, [{ index, where }]);
    else list.push({ index, where });
  };
  objects.forEach((object, index) => {
    const ends =
      object.type === 'relationship'
        ? [object.source_ref, object.target_ref]
        : object.type === 'sighting'
          ? [object.sighting_of_ref]
          : [];
    if (!ends.every(resolves)) {
      pending.push(index);
      return;
    }
    for (const end of ends) dependOn(end as string, index, false);
    if (object.type !== 'sighting') return;
    const where = Array.isArray(object.where_sighted_refs) ? object.where_sighted_refs : [];
    for (const ref of where) {
      if (!resolves(ref)) continue;
      whereLeft[index] = (whereLeft[index] ?? 0) + 1;
      dependOn(ref, index, true);
    }
    if (whereLeft[index] === 0) pending.push(index);
  });

  for (let index = pending.pop(); index !== undefined; index = pending.pop()) {
    if (dropped[index] === 1) continue;
    dropped[index] = 1;
    const id = (objects[index] as ScoutObject).id;
    const left = (copies.get(id) ?? 1) - 1;
    if (left > 0) {
      copies.set(id, left);
      continue;
    }
    copies.delete(id);
    for (const dependent of dependents.get(id) ?? []) {
      if (!dependent.where) pending.push(dependent.index);
      else if (--(whereLeft[dependent.index] as number) === 0) pending.push(dependent.index);
    }
  }

  const kept: ScoutObject[] = [];
  objects.forEach((object, index) => {
    if (dropped[index] === 0) kept.push(withoutDanglingRefs(object, resolves));
  });
  return kept;
}

/** The object without its references that do not resolve (itself when all do). */
function withoutDanglingRefs(object: ScoutObject, resolves: (ref: unknown) => boolean): ScoutObject {
  let cleaned: Record<string, unknown> | null = null;
  for (const [key, value] of Object.entries(object)) {
    if (value === null || value === undefined) continue;
    if (key.endsWith('_refs') && Array.isArray(value)) {
      const kept = value.filter(resolves);
      if (kept.length === value.length) continue;
      cleaned ??= { ...object };
      if (kept.length > 0) cleaned[key] = kept;
      else delete cleaned[key];
    } else if (key.endsWith('_ref') && !resolves(value)) {
      cleaned ??= { ...object };
      delete cleaned[key];
    }
  }
  return cleaned === null ? object : (cleaned as ScoutObject);
}

/** The value as OpenCTI compares it: IPv6 compressed, domains without case or trailing dot. */
export function canonicalValue(stixType: string, value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const v = value.trim().toLowerCase();
  if (stixType === 'ipv6-addr' && isIP(v) === 6) {
    return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  }
  if (stixType === 'domain-name') return v.replace(/\.$/, '');
  return v;
}

export interface MappingOptions {
  /** `created` of the relationship added to link the entity. */
  now: Date;
}

export interface ScoutMapping {
  /** The bundle to send, or null when nothing survived the filter. */
  bundle: StixBundle | null;
  /** How many vendor objects were kept (before the author and the link to the entity). */
  kept: number;
  /** Relationships added from the entity to Scout's observable of the same value. */
  linked: number;
}

/** The enrichment bundle for Scout's answer about `entity`. */
export function toStixBundle(
  entity: EnrichmentEntity,
  vendorObjects: readonly ScoutObject[],
  o: MappingOptions,
): ScoutMapping {
  const author = scoutAuthor();
  const external = new Set([entity.id, author.id]);
  // Our author wins over a copy of it in Scout's bundle.
  const filtered = filterScoutObjects(vendorObjects.filter((object) => object.id !== author.id));
  const kept = dropDanglingReferences(
    filtered.map((object) => withAuthor(object, author.id)),
    external,
  );
  if (kept.length === 0) return { bundle: null, kept: 0, linked: 0 };

  const stixType = typeof entity.stix.type === 'string' ? entity.stix.type : entity.entityType.toLowerCase();
  const wanted = canonicalValue(stixType, entity.value);
  const sameValue = kept.filter(
    (object) => object.type === stixType && wanted !== null && canonicalValue(stixType, object.value) === wanted,
  );
  const links = sameValue.some((object) => object.id === entity.id)
    ? []
    : sameValue.map((object) =>
        buildRelationship(
          { relationship_type: 'related-to', source_ref: entity.id, target_ref: object.id },
          { author, now: o.now.toISOString() },
        ),
      );

  const bundle = assembleBundle({
    objects: [...(kept as StixObject[]), ...links],
    author,
    external: [entity.id],
  });
  return { bundle, kept: kept.length, linked: links.length };
}
