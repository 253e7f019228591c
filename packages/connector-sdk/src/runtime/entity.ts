/**
 * The entity to enrich, from what the platform gives: the GraphQL entity read from the platform (its
 * identity, type, objectMarking, which decides the TLP, and objectOrganization, who the results are shared
 * with, as pycti does) and the STIX form the listen message carries (or one built from the GraphQL form).
 * Nothing the message says is trusted over the read.
 */
import { InputError } from '../errors/index.js';
import {
  entityTlp,
  generateId,
  OPENCTI_SCO_EXTENSION,
  OPENCTI_SDO_EXTENSION,
  parseTlp,
  TLP_MARKING_IDS,
  type TlpLevel,
} from '../stix/index.js';
import type { EnrichmentEntity, EntityMarking } from './define.js';

/** What else the message says about the entity's STIX form. */
export interface MessageContext {
  /** The other objects of the message (a playbook's bundle), where its marking definitions are. */
  objects?: readonly Record<string, unknown>[];
  /**
   * A playbook step: its bundle's object is the playbook's own (kept as sent), and TLP markings the
   * playbook put on it before this step count too, on top of those read from the platform.
   */
  playbook?: boolean;
}

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

/** Standard ids of the organisations the read says the entity is shared with (`objectOrganization`). */
function organizationsOf(raw: Record<string, unknown>): string[] {
  const list = Array.isArray(raw.objectOrganization) ? raw.objectOrganization : [];
  const ids = list.map((o) => (o && typeof o === 'object' ? str((o as { standard_id?: unknown }).standard_id) : null));
  return [...new Set(ids.filter((id): id is string => id !== null))];
}

/**
 * `stix` shared with exactly `organizations`: any sharing the message wrote (top level or in OpenCTI's
 * extensions) is dropped, and the read's goes where the platform's own STIX form keeps it, OpenCTI's
 * property extension (a top-level `x_opencti_granted_refs` is a reference a bundle would have to resolve).
 */
function sharedWith(stix: Record<string, unknown>, organizations: readonly string[]): Record<string, unknown> {
  const { x_opencti_granted_refs: _message, ...out } = stix;
  const extensions: Record<string, unknown> =
    out.extensions && typeof out.extensions === 'object' && !Array.isArray(out.extensions) ? { ...out.extensions } : {};
  for (const name of [OPENCTI_SDO_EXTENSION, OPENCTI_SCO_EXTENSION]) {
    const extension = extensions[name];
    if (extension && typeof extension === 'object' && 'granted_refs' in extension) {
      const { granted_refs: _dropped, ...rest } = extension as Record<string, unknown>;
      extensions[name] = rest;
    }
  }
  if (organizations.length > 0) {
    const octi = extensions[OPENCTI_SDO_EXTENSION];
    extensions[OPENCTI_SDO_EXTENSION] = {
      ...(octi && typeof octi === 'object' ? octi : { extension_type: 'property-extension' }),
      granted_refs: [...organizations],
    };
  }
  if (Object.keys(extensions).length > 0) out.extensions = extensions;
  return out;
}

function labelsOf(raw: Record<string, unknown>): string[] {
  const list = Array.isArray(raw.objectLabel) ? raw.objectLabel : [];
  return list
    .map((l) => (typeof l === 'string' ? l : l && typeof l === 'object' ? str((l as { value?: unknown }).value) : null))
    .filter((l): l is string => l !== null);
}

const TLP_BY_MARKING_ID: ReadonlyMap<string, TlpLevel> = new Map(
  Object.entries(TLP_MARKING_IDS).map(([level, id]) => [id, level as TlpLevel]),
);

/**
 * The TLP markings a playbook's bundle puts on the entity: the well-known TLP ids, and the bundle's own
 * marking definitions of type TLP (one this SDK cannot name counts as TLP:RED in entityTlp).
 */
function bundleTlpMarkings(
  stix: Record<string, unknown>,
  objects: readonly Record<string, unknown>[],
): EntityMarking[] {
  const refs = Array.isArray(stix.object_marking_refs)
    ? stix.object_marking_refs.filter((r) => typeof r === 'string')
    : [];
  return refs.flatMap((ref): EntityMarking[] => {
    const known = TLP_BY_MARKING_ID.get(ref);
    if (known) return [{ standard_id: ref, definition_type: 'TLP', definition: known }];
    const definition = objects.find((o) => o.id === ref && o.type === 'marking-definition');
    if (!definition || str(definition.definition_type)?.toUpperCase() !== 'TLP') return [];
    const tlp = (definition.definition as { tlp?: unknown } | undefined)?.tlp;
    const name = str(definition.name) ?? (typeof tlp === 'string' ? `TLP:${tlp}` : null);
    return [{ standard_id: ref, definition_type: 'TLP', definition: name }];
  });
}

/** Whether `stix` is the STIX form of the entity whose standard id is `id` (its id, and the type that id names). */
function isStixFormOf(id: string, stix: Record<string, unknown> | null): stix is Record<string, unknown> {
  if (!stix) return false;
  // pycti also takes the "x-opencti-" form some exports give the id.
  if (stix.id !== id && stix.id !== `x-opencti-${id}`) return false;
  return stix.type === String(stix.id).slice(0, String(stix.id).indexOf('--'));
}

/**
 * Builds the EnrichmentEntity from the GraphQL entity read from the platform and, when the message has
 * one for this very entity (same standard id), its STIX form. The id, type, value, markings and the
 * organisations the entity is shared with are the read's: a message cannot make the gate see another
 * entity or fewer markings, nor share the results with more organisations. A playbook step keeps its
 * bundle's sharing, as pycti does (an earlier step may have shared the entity). The value comes from
 * `observable_value`, `value` or `name`.
 */
export function toEnrichmentEntity(
  raw: Record<string, unknown>,
  stixEntity: Record<string, unknown> | null = null,
  context: MessageContext = {},
): EnrichmentEntity {
  const entityType = str(raw.entity_type);
  const id = str(raw.standard_id);
  if (!entityType || !id) throw new InputError('The entity read from OpenCTI has no type or standard id');
  const sameEntity = isStixFormOf(id, stixEntity) ? stixEntity : null;
  const value = str(raw.observable_value) ?? str(raw.value) ?? str(sameEntity?.value) ?? str(raw.name);
  const read = markingsOf(raw);
  const readRefs = read.map((m) => m.standard_id);
  let stix: Record<string, unknown>;
  let markings = read;
  if (sameEntity && context.playbook) {
    stix = sameEntity;
    const added = bundleTlpMarkings(sameEntity, context.objects ?? []).filter((m) => !readRefs.includes(m.standard_id));
    markings = [...read, ...added];
  } else if (sameEntity) {
    // The platform's STIX form, with the markings and the sharing the platform has now.
    stix = sharedWith({ ...sameEntity, object_marking_refs: readRefs }, organizationsOf(raw));
    if (readRefs.length === 0) delete stix.object_marking_refs;
  } else {
    stix = sharedWith(
      {
        type: stixTypeOf(entityType),
        id,
        spec_version: '2.1',
        ...(value !== null ? { value } : {}),
        ...(readRefs.length > 0 ? { object_marking_refs: readRefs } : {}),
      },
      organizationsOf(raw),
    );
  }
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
  );
}
