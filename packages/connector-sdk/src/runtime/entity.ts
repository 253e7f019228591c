/**
 * The entity to enrich, from what the platform gives: the GraphQL entity (objectMarking decides the TLP,
 * as pycti does) and the STIX form the listen message carries (or one built from the GraphQL form).
 */
import { InputError } from '../errors/index.js';
import { entityTlp, generateId, parseTlp, TLP_MARKING_IDS } from '../stix/index.js';
import type { EnrichmentEntity, EntityMarking } from './define.js';

/** OpenCTI entity type → STIX type (`IPv4-Addr` → `ipv4-addr`, `StixFile` → `file`). */
export function stixTypeOf(entityType: string): string {
  if (entityType === 'StixFile' || entityType === 'Artifact-File') return 'file';
  return entityType.toLowerCase();
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function markingsOf(raw: Record<string, unknown>): EntityMarking[] {
  const list = Array.isArray(raw.objectMarking) ? raw.objectMarking : [];
  return list
    .filter((m): m is Record<string, unknown> => !!m && typeof m === 'object')
    .map((m) => ({
      ...(str(m.id) ? { id: str(m.id) as string } : {}),
      standard_id: str(m.standard_id) ?? str(m.id) ?? '',
      definition_type: str(m.definition_type),
      definition: str(m.definition),
    }))
    .filter((m) => m.standard_id !== '');
}

function labelsOf(raw: Record<string, unknown>): string[] {
  const list = Array.isArray(raw.objectLabel) ? raw.objectLabel : [];
  return list
    .map((l) => (typeof l === 'string' ? l : l && typeof l === 'object' ? str((l as { value?: unknown }).value) : null))
    .filter((l): l is string => l !== null);
}

/**
 * Builds the EnrichmentEntity from the GraphQL entity and, when the message has one, its STIX form.
 * The value comes from `observable_value`, `value` or `name`.
 */
export function toEnrichmentEntity(
  raw: Record<string, unknown>,
  stixEntity: Record<string, unknown> | null,
  fallbackType: string | null,
): EnrichmentEntity {
  const entityType = str(raw.entity_type) ?? fallbackType;
  const id = str(raw.standard_id) ?? str(stixEntity?.id) ?? null;
  if (!entityType || !id) throw new InputError('The entity has no type or standard id');
  const value = str(raw.observable_value) ?? str(raw.value) ?? str(stixEntity?.value) ?? str(raw.name);
  const markings = markingsOf(raw);
  const stix = stixEntity ?? {
    type: stixTypeOf(entityType),
    id,
    spec_version: '2.1',
    ...(value !== null ? { value } : {}),
    ...(markings.length > 0 ? { object_marking_refs: markings.map((m) => m.standard_id) } : {}),
  };
  return {
    id,
    internalId: str(raw.id),
    entityType,
    value,
    tlp: entityTlp(markings),
    markings,
    markingIds: markings.map((m) => m.standard_id),
    labels: labelsOf(raw),
    description: str(raw.x_opencti_description) ?? str(raw.description),
    stix,
    raw,
  };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Guesses the OpenCTI type of a value typed on the command line. */
export function guessEntityType(value: string): string {
  if (IPV4.test(value)) return 'IPv4-Addr';
  if (value.includes(':') && /^[0-9a-f:.]+$/i.test(value)) return 'IPv6-Addr';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'Url';
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) return 'Email-Addr';
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+\.?$/i.test(value)) return 'Domain-Name';
  throw new InputError(`Cannot tell the type of "${value}": pass --type (e.g. --type Domain-Name)`);
}

/** An unmarked entity for a dry run from the command line, with the id OpenCTI would give it. */
export function dryRunEntity(value: string, entityType: string, tlp?: string): EnrichmentEntity {
  const type = stixTypeOf(entityType);
  const id = generateId(type, { type, value });
  const level = tlp ? parseTlp(tlp) : null;
  const markings: EntityMarking[] = level
    ? [{ standard_id: TLP_MARKING_IDS[level], definition_type: 'TLP', definition: level }]
    : [];
  return toEnrichmentEntity(
    { standard_id: id, entity_type: entityType, observable_value: value, objectMarking: markings },
    { type, id, spec_version: '2.1', value },
    entityType,
  );
}
