/**
 * Organisation sharing (OpenCTI Enterprise's organisation segregation). An entity is visible to the
 * organisations it is shared with: `x_opencti_granted_refs`, or `granted_refs` in OpenCTI's extensions.
 * pycti 7 reads them from the enriched entity and adds them to every object an enrichment sends back, in
 * the OpenCTI extension when the object has one and in `x_opencti_granted_refs` otherwise (opencti#5857),
 * so what an enrichment creates is visible to whoever can see the entity.
 */
import { OPENCTI_SCO_EXTENSION, OPENCTI_SDO_EXTENSION } from './ids.js';
import type { StixBundle, StixObject } from './types.js';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ids = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];

/**
 * The organisations `stixEntity` is shared with, read as pycti reads them: `x_opencti_granted_refs` when
 * the key is there, else `granted_refs` from OpenCTI's object extension, then its observable extension.
 */
export function grantedOrganizations(stixEntity: Readonly<Json>): string[] {
  if ('x_opencti_granted_refs' in stixEntity) return ids(stixEntity.x_opencti_granted_refs);
  const extensions = stixEntity.extensions;
  if (!isRecord(extensions)) return [];
  for (const name of [OPENCTI_SDO_EXTENSION, OPENCTI_SCO_EXTENSION]) {
    const extension = extensions[name];
    if (isRecord(extension) && 'granted_refs' in extension) return ids(extension.granted_refs);
  }
  return [];
}

const union = (current: unknown, added: readonly string[]): string[] => [...new Set([...ids(current), ...added])];

/**
 * A copy of `bundle` whose every object is shared with `organizations` too: in its OpenCTI extension's
 * `granted_refs` when it has that extension, in `x_opencti_granted_refs` otherwise. What an object is
 * already shared with is kept; the order is stable (existing first), so the bytes are too.
 */
export function shareWithOrganizations(bundle: StixBundle, organizations: readonly string[]): StixBundle {
  if (organizations.length === 0) return bundle;
  const objects = bundle.objects.map((object) => {
    const copy = structuredClone(object) as Json;
    const extensions = copy.extensions;
    const extension = isRecord(extensions) ? extensions[OPENCTI_SDO_EXTENSION] : undefined;
    if (isRecord(extension)) extension.granted_refs = union(extension.granted_refs, organizations);
    else copy.x_opencti_granted_refs = union(copy.x_opencti_granted_refs, organizations);
    return copy as StixObject;
  });
  return { ...bundle, objects };
}
