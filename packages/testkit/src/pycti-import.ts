/**
 * How the OpenCTI worker's importer (pycti 7: `OpenCTIStix2.extract_embedded_relationships`, and
 * `StixCyberObservable.create` for an observable's score and description) reads the OpenCTI fields of one
 * STIX object. The same field can live in three places — a top-level STIX property, OpenCTI's property
 * extensions, an `x_opencti_*` property — and the importer takes exactly one of them, in a fixed order:
 *
 * - created-by: `created_by_ref`, else `x_opencti_created_by_ref`, else the extensions' `created_by_ref`;
 * - markings: `object_marking_refs`;
 * - labels: `labels` when the key is there (even empty), else the extensions' `labels`, else
 *   `x_opencti_labels`, else the values of `x_opencti_tags`;
 * - external references: `external_references` when present and not null, else (key absent) the
 *   extensions', else `x_opencti_external_references`;
 * - organisations: the extensions' `granted_refs` unless the object has the key `x_opencti_granted_refs`;
 * - score, description: `x_opencti_score` / `x_opencti_description` when the key is there, else the
 *   extensions' `score` / `description`;
 * - files: each `x_opencti_files` entry with a name and base64 `data`, uploaded onto the element (pycti's
 *   `add_file`, with the entry's `mime_type` and `no_trigger_import`).
 *
 * "The extensions" means OpenCTI's object extension, then its observable extension (pycti's
 * `get_attribute_in_extension`). So a label written only to `x_opencti_labels` on an observable whose
 * platform copy carries labels in its extension is never read.
 */

/** OpenCTI's property extension (every object) and its observable extension. */
export const OCTI_EXTENSION = 'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba';
export const OCTI_SCO_EXTENSION = 'extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82';

/** An external reference as the importer takes it. */
export interface ImportedExternalReference {
  source_name: string;
  url?: string;
  external_id?: string;
  description?: string;
}

/** A file the importer uploads onto the element. */
export interface ImportedFile {
  name: string;
  mimeType: string | null;
  /** The decoded content. */
  data: Uint8Array;
  noTriggerImport: boolean;
}

/** The OpenCTI fields of one object, as the importer reads them. */
export interface PyctiFields {
  createdBy: string | null;
  markings: string[];
  labels: string[];
  externalReferences: ImportedExternalReference[];
  organizations: string[];
  /** Observables and indicators; undefined when the object does not say. */
  score: number | undefined;
  /** Observables (`x_opencti_description`), or an SDO's `description`; undefined when not said. */
  description: string | undefined;
  files: ImportedFile[];
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** pycti's `get_attribute_in_extension`: the object extension's value, else the observable extension's. */
export function extensionAttribute(object: Json, key: string): unknown {
  const extensions = object.extensions;
  if (!isRecord(extensions)) return undefined;
  for (const name of [OCTI_EXTENSION, OCTI_SCO_EXTENSION]) {
    const extension = extensions[name];
    if (isRecord(extension) && key in extension) return extension[key];
  }
  return undefined;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

function references(value: unknown): ImportedExternalReference[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).flatMap((ref) => {
    if (typeof ref.source_name !== 'string') return [];
    const out: ImportedExternalReference = { source_name: ref.source_name };
    if (typeof ref.url === 'string') out.url = ref.url;
    if (typeof ref.external_id === 'string') out.external_id = ref.external_id;
    if (typeof ref.description === 'string') out.description = ref.description;
    return [out];
  });
}

function labelsOf(object: Json): string[] {
  if ('labels' in object) return strings(object.labels);
  const fromExtension = extensionAttribute(object, 'labels');
  if (fromExtension !== undefined && fromExtension !== null) return strings(fromExtension);
  if ('x_opencti_labels' in object) return strings(object.x_opencti_labels);
  if (Array.isArray(object.x_opencti_tags)) {
    return object.x_opencti_tags.filter(isRecord).flatMap((t) => (typeof t.value === 'string' ? [t.value] : []));
  }
  return [];
}

function externalReferencesOf(object: Json): ImportedExternalReference[] {
  if (object.external_references !== undefined && object.external_references !== null) {
    return references(object.external_references);
  }
  if (!('external_references' in object)) {
    const fromExtension = extensionAttribute(object, 'external_references');
    if (fromExtension !== undefined && fromExtension !== null) return references(fromExtension);
  }
  return references(object.x_opencti_external_references);
}

function createdByOf(object: Json): string | null {
  if ('created_by_ref' in object) return typeof object.created_by_ref === 'string' ? object.created_by_ref : null;
  if ('x_opencti_created_by_ref' in object) {
    return typeof object.x_opencti_created_by_ref === 'string' ? object.x_opencti_created_by_ref : null;
  }
  const fromExtension = extensionAttribute(object, 'created_by_ref');
  return typeof fromExtension === 'string' ? fromExtension : null;
}

function organizationsOf(object: Json): string[] {
  if ('x_opencti_granted_refs' in object) return strings(object.x_opencti_granted_refs);
  return strings(extensionAttribute(object, 'granted_refs'));
}

function scoreOf(object: Json): number | undefined {
  const value = 'x_opencti_score' in object ? object.x_opencti_score : extensionAttribute(object, 'score');
  return typeof value === 'number' ? value : undefined;
}

function descriptionOf(object: Json, observable: boolean): string | undefined {
  if (!observable) return typeof object.description === 'string' ? object.description : undefined;
  const value =
    'x_opencti_description' in object ? object.x_opencti_description : extensionAttribute(object, 'description');
  return typeof value === 'string' ? value : undefined;
}

function filesOf(object: Json): ImportedFile[] {
  const files = object.x_opencti_files;
  if (!Array.isArray(files)) return [];
  return files.filter(isRecord).flatMap((f) =>
    typeof f.name === 'string' && typeof f.data === 'string'
      ? [
          {
            name: f.name,
            mimeType: typeof f.mime_type === 'string' ? f.mime_type : null,
            data: Buffer.from(f.data, 'base64'),
            noTriggerImport: f.no_trigger_import === true,
          },
        ]
      : [],
  );
}

/** The OpenCTI fields of `object` as the worker's importer reads them. `observable`: an SCO. */
export function readAsPycti(object: Json, observable: boolean): PyctiFields {
  return {
    createdBy: createdByOf(object),
    markings: strings(object.object_marking_refs),
    labels: labelsOf(object),
    externalReferences: externalReferencesOf(object),
    organizations: organizationsOf(object),
    score: scoreOf(object),
    description: descriptionOf(object, observable),
    files: filesOf(object),
  };
}
