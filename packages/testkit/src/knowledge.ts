/**
 * What the platform ends up holding once the worker has imported what connectors sent: per STIX id, the
 * author, markings, labels, external references, organisations, score and description, read from each
 * object the way pycti's importer reads them (pycti-import.ts) and merged the way an upsert of an
 * existing element merges them. The testkit models the upsert as:
 *
 * - markings, labels, external references and organisations: the import's are added to what the element
 *   holds, nothing is removed;
 * - the author, the score and the description: replaced when the import names one, kept otherwise.
 *
 * An element registered with `addEntity` starts from what it was registered with, and its stored copy
 * (GraphQL and `stix_entity`) follows the imports, so the next enrichment sees the platform's copy as it is.
 */
import type { EntityStore, StoredEntity } from './entities.js';
import { customMarking, type PlatformMarking, TLP_MARKING_IDS, tlpMarking } from './markings.js';
import { type ImportedExternalReference, type ImportedFile, type PyctiFields, readAsPycti } from './pycti-import.js';
import { stixKindOf } from './stix-validation.js';

/** What the platform holds for one element. */
export interface KnowledgeRecord {
  /** The STIX (standard) id. */
  id: string;
  /** The STIX type. */
  type: string;
  /** Standard id of the author, or null. */
  createdBy: string | null;
  /** Standard ids of the markings. */
  markings: string[];
  labels: string[];
  externalReferences: ImportedExternalReference[];
  /** Standard ids of the organisations it is shared with. */
  organizations: string[];
  score: number | null;
  description: string | null;
  /** Files uploaded onto it (a file of the same name replaces the earlier one, as an upload does). */
  files: ImportedFile[];
  /** How many times the worker imported it (0: registered with addEntity and never re-sent). */
  imports: number;
}

type Json = Record<string, unknown>;

const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])];

function referenceKey(ref: ImportedExternalReference): string {
  return ref.url !== undefined ? `url:${ref.url}` : `source:${ref.source_name}|${ref.external_id ?? ''}`;
}

function mergeReferences(
  current: readonly ImportedExternalReference[],
  added: readonly ImportedExternalReference[],
): ImportedExternalReference[] {
  const byKey = new Map<string, ImportedExternalReference>();
  for (const ref of [...current, ...added]) if (!byKey.has(referenceKey(ref))) byKey.set(referenceKey(ref), ref);
  return [...byKey.values()];
}

/** The upsert: what `current` holds after `fields` were imported onto it. */
export function mergeImport(current: KnowledgeRecord, fields: PyctiFields): KnowledgeRecord {
  return {
    ...current,
    createdBy: fields.createdBy ?? current.createdBy,
    markings: union(current.markings, fields.markings),
    labels: union(current.labels, fields.labels),
    externalReferences: mergeReferences(current.externalReferences, fields.externalReferences),
    organizations: union(current.organizations, fields.organizations),
    score: fields.score ?? current.score,
    description: fields.description ?? current.description,
    files: [...current.files.filter((f) => !fields.files.some((n) => n.name === f.name)), ...fields.files],
    imports: current.imports + 1,
  };
}

function recordOfEntity(entity: StoredEntity): KnowledgeRecord {
  const a = entity.attributes;
  const description = a.x_opencti_description ?? a.description;
  return {
    id: entity.standard_id,
    type: String(entity.stix_entity.type),
    createdBy: entity.createdBy?.standard_id ?? null,
    markings: entity.objectMarking.map((m) => m.standard_id),
    labels: entity.objectLabel.map((l) => l.value),
    externalReferences: entity.externalReferences.map((ref) => ({
      source_name: ref.source_name,
      ...(ref.url !== null ? { url: ref.url } : {}),
      ...(ref.external_id !== null ? { external_id: ref.external_id } : {}),
      ...(ref.description !== null ? { description: ref.description } : {}),
    })),
    organizations: [...entity.grantedRefs],
    score: typeof a.x_opencti_score === 'number' ? a.x_opencti_score : null,
    description: typeof description === 'string' ? description : null,
    files: [],
    imports: 0,
  };
}

const TLP_BY_ID = new Map<string, string>(Object.entries(TLP_MARKING_IDS).map(([level, id]) => [id, level]));

export class KnowledgeStore {
  readonly #records = new Map<string, KnowledgeRecord>();
  /** Identity and marking-definition objects imported, to give a registered entity its new author or marking. */
  readonly #imported = new Map<string, Json>();

  constructor(private readonly entities: EntityStore) {}

  /** Imports one object the worker received, as pycti's importer and the platform's upsert would. */
  import(object: Json): void {
    const id = object.id;
    const type = object.type;
    if (typeof id !== 'string' || typeof type !== 'string') return;
    if (type === 'identity' || type === 'marking-definition') this.#imported.set(id, object);
    const stored = this.entities.get(id);
    const current = this.#records.get(id) ?? (stored ? recordOfEntity(stored) : this.#blank(id, type));
    const next = mergeImport(current, readAsPycti(object, stixKindOf(type) === 'sco'));
    this.#records.set(id, next);
    if (stored !== undefined) {
      this.entities.applyFields(
        stored.id,
        {
          createdBy: next.createdBy,
          markings: next.markings.map((m) => this.#marking(m)),
          labels: next.labels,
          externalReferences: next.externalReferences,
          grantedRefs: next.organizations,
          score: next.score,
          description: next.description,
        },
        (authorId) => this.#author(authorId),
      );
    }
  }

  /** What the platform holds for `id` (a STIX id): imported, or registered with addEntity. */
  get(id: string): KnowledgeRecord | undefined {
    const record = this.#records.get(id);
    if (record !== undefined) return structuredClone(record);
    const stored = this.entities.get(id);
    return stored === undefined ? undefined : recordOfEntity(stored);
  }

  /** Every imported element, in first-import order. */
  all(): KnowledgeRecord[] {
    return [...this.#records.values()].map((r) => structuredClone(r));
  }

  #blank(id: string, type: string): KnowledgeRecord {
    return {
      id,
      type,
      createdBy: null,
      markings: [],
      labels: [],
      externalReferences: [],
      organizations: [],
      score: null,
      description: null,
      files: [],
      imports: 0,
    };
  }

  #marking(id: string): PlatformMarking {
    const tlp = TLP_BY_ID.get(id);
    if (tlp !== undefined) return tlpMarking(tlp);
    const definition = this.#imported.get(id);
    const definitionType = typeof definition?.definition_type === 'string' ? definition.definition_type : 'statement';
    const text = definition?.definition;
    const value = typeof text === 'string' ? text : typeof definition?.name === 'string' ? definition.name : id;
    return customMarking({ definition_type: definitionType, definition: value, standard_id: id });
  }

  /** The author an import named (`createdBy`), as a stored identity, or null when it is unknown. */
  author(id: string): StoredEntity | null {
    return this.#author(id);
  }

  #author(id: string): StoredEntity | null {
    const existing = this.entities.get(id);
    if (existing !== undefined) return existing;
    const identity = this.#imported.get(id);
    if (identity === undefined || typeof identity.name !== 'string') return null;
    const entityType = identity.identity_class === 'individual' ? 'Individual' : 'Organization';
    return this.entities.add({ entity_type: entityType, name: identity.name, standard_id: id });
  }
}
