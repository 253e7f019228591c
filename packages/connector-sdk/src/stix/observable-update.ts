/**
 * Re-sending an enriched observable. The platform hands the connector the entity's STIX form with its
 * OpenCTI fields in an extension (`labels`, `external_references`, `description`, `score`), older
 * platforms and pycti's own export put them in top-level `x_opencti_*` fields, and the worker reads them
 * in a fixed order: top-level `labels`/`external_references` first, then the extension, then `x_opencti_*`
 * (pycti's _get_import_label_values and _get_import_external_references). Writing only `x_opencti_labels`
 * onto a platform copy that has extension labels would be silently ignored; this writes the merged values
 * everywhere the copy has them, so whichever the worker reads holds the enrichment.
 */
import { externalReferenceId, OPENCTI_SCO_EXTENSION, OPENCTI_SDO_EXTENSION } from './ids.js';
import type { ExternalReference, StixObject } from './types.js';

export interface ObservableChanges {
  /** Labels added to those the observable already has. */
  addLabels?: readonly string[];
  /** External references added (a reference already present, by url or source and id, is replaced). */
  addExternalReferences?: readonly ExternalReference[];
  /** Replaces the description. */
  description?: string;
  /** Replaces the score (0-100). */
  score?: number;
}

type Json = Record<string, unknown>;

function extensionOf(stix: Json): Json | null {
  const extensions = stix.extensions;
  if (!extensions || typeof extensions !== 'object') return null;
  const ext = (extensions as Json)[OPENCTI_SCO_EXTENSION] ?? (extensions as Json)[OPENCTI_SDO_EXTENSION];
  return ext && typeof ext === 'object' ? (ext as Json) : null;
}

function list<T>(value: unknown): T[] | null {
  return Array.isArray(value) ? (value as T[]) : null;
}

function referenceKey(ref: ExternalReference): string {
  try {
    return externalReferenceId(ref);
  } catch {
    return JSON.stringify(ref);
  }
}

/** A copy of the observable's STIX form with the changes applied wherever the worker may read them. */
export function updateObservable(stix: Readonly<Json>, changes: ObservableChanges): StixObject {
  const out: Json = structuredClone(stix) as Json;
  const ext = extensionOf(out);

  if (changes.addLabels && changes.addLabels.length > 0) {
    const current = list<string>(out.labels) ?? list<string>(ext?.labels) ?? list<string>(out.x_opencti_labels) ?? [];
    const merged = [...new Set([...current, ...changes.addLabels])];
    if ('labels' in out) out.labels = merged;
    if (ext) ext.labels = merged;
    out.x_opencti_labels = merged;
  }

  if (changes.addExternalReferences && changes.addExternalReferences.length > 0) {
    const current =
      list<ExternalReference>(out.external_references) ??
      list<ExternalReference>(ext?.external_references) ??
      list<ExternalReference>(out.x_opencti_external_references) ??
      [];
    const byKey = new Map<string, ExternalReference>();
    for (const ref of [...current, ...changes.addExternalReferences]) byKey.set(referenceKey(ref), ref);
    const merged = [...byKey.values()];
    out.external_references = merged;
    if (ext) ext.external_references = merged;
    out.x_opencti_external_references = merged;
  }

  if (changes.description !== undefined) {
    out.x_opencti_description = changes.description;
    if (ext) ext.description = changes.description;
  }
  if (changes.score !== undefined) {
    out.x_opencti_score = changes.score;
    if (ext) ext.score = changes.score;
  }
  return out as StixObject;
}
