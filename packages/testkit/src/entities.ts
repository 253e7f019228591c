/**
 * The knowledge a connector can read: entities a test registers with `addEntity`, stored with the
 * platform's ids, markings, labels, author and external references, and rendered two ways — as the
 * GraphQL objects `stixCoreObject(id)` returns, and as the STIX 2.1 object the platform puts in
 * `stix_entity` (its `convertStoreToStix_2_1`: OpenCTI property extensions, empty fields removed).
 */
import { TestPlatformError } from './errors.js';
import { deterministicStixId, internalIdFor } from './ids.js';
import { type MarkingInput, type PlatformMarking, resolveMarking, type TlpLevel } from './markings.js';

/** OpenCTI's property extension for every object, and its extension for observables. */
export const STIX_EXT_OCTI = 'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba';
export const STIX_EXT_OCTI_SCO = 'extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82';

type EntityKind = 'observable' | 'domain' | 'identity';

interface EntityTypeSpec {
  /** The GraphQL object type (`__typename`). */
  typename: string;
  /** The STIX `type`. */
  stixType: string;
  kind: EntityKind;
  /** Identity class for identity types. */
  identityClass?: string;
}

// The entity types the testkit's schema models. Keys are the platform's entity_type names.
const ENTITY_TYPES: Record<string, EntityTypeSpec> = {
  'IPv4-Addr': { typename: 'IPv4Addr', stixType: 'ipv4-addr', kind: 'observable' },
  'IPv6-Addr': { typename: 'IPv6Addr', stixType: 'ipv6-addr', kind: 'observable' },
  'Domain-Name': { typename: 'DomainName', stixType: 'domain-name', kind: 'observable' },
  Url: { typename: 'Url', stixType: 'url', kind: 'observable' },
  'Email-Addr': { typename: 'EmailAddr', stixType: 'email-addr', kind: 'observable' },
  Hostname: { typename: 'Hostname', stixType: 'hostname', kind: 'observable' },
  'Autonomous-System': { typename: 'AutonomousSystem', stixType: 'autonomous-system', kind: 'observable' },
  Indicator: { typename: 'Indicator', stixType: 'indicator', kind: 'domain' },
  Malware: { typename: 'Malware', stixType: 'malware', kind: 'domain' },
  Vulnerability: { typename: 'Vulnerability', stixType: 'vulnerability', kind: 'domain' },
  Report: { typename: 'Report', stixType: 'report', kind: 'domain' },
  'Intrusion-Set': { typename: 'IntrusionSet', stixType: 'intrusion-set', kind: 'domain' },
  Campaign: { typename: 'Campaign', stixType: 'campaign', kind: 'domain' },
  'Attack-Pattern': { typename: 'AttackPattern', stixType: 'attack-pattern', kind: 'domain' },
  Tool: { typename: 'Tool', stixType: 'tool', kind: 'domain' },
  Organization: { typename: 'Organization', stixType: 'identity', kind: 'identity', identityClass: 'organization' },
  Individual: { typename: 'Individual', stixType: 'identity', kind: 'identity', identityClass: 'individual' },
  System: { typename: 'System', stixType: 'identity', kind: 'identity', identityClass: 'system' },
  Sector: { typename: 'Sector', stixType: 'identity', kind: 'identity', identityClass: 'class' },
};

/** The platform's entity type of an observable or an Indicator of STIX type `stixType` (SCOs and `indicator`). */
export function creatableEntityType(stixType: string): string | undefined {
  return Object.entries(ENTITY_TYPES).find(
    ([, spec]) => spec.stixType === stixType && (spec.kind === 'observable' || stixType === 'indicator'),
  )?.[0];
}

/** The entity types `addEntity` accepts. */
export const SUPPORTED_ENTITY_TYPES: readonly string[] = Object.keys(ENTITY_TYPES);

/** A label as the platform returns it in `objectLabel`. */
export interface PlatformLabel {
  id: string;
  standard_id: string;
  entity_type: 'Label';
  value: string;
  color: string;
}

/** An external reference as the platform returns it. */
export interface PlatformExternalReference {
  id: string;
  standard_id: string;
  entity_type: 'External-Reference';
  source_name: string;
  url: string | null;
  external_id: string | null;
  description: string | null;
}

export interface ExternalReferenceInput {
  source_name: string;
  url?: string;
  external_id?: string;
  description?: string;
}

/**
 * What a test registers. Give the fields of the type: `value` for observables (`number` for
 * Autonomous-System), `name` for domain objects and identities (`pattern` and `pattern_type` too for an
 * Indicator). Everything else is optional.
 */
export interface EntityInput {
  /** The platform's entity type: 'IPv4-Addr', 'Domain-Name', 'Url', 'Indicator', 'Organization'… */
  entity_type: string;
  value?: string;
  number?: number;
  name?: string;
  description?: string;
  pattern?: string;
  pattern_type?: string;
  /** Report publication date (part of a Report's id). */
  published?: string;
  /** Attack-Pattern MITRE id (its id when present). */
  x_mitre_id?: string;
  /** Observables: `x_opencti_score`; Indicators: `x_opencti_score`. */
  score?: number;
  /** Markings: TLP levels ('TLP:AMBER') or marking inputs (PAP, statements). */
  markings?: ReadonlyArray<TlpLevel | string | MarkingInput>;
  labels?: readonly string[];
  /** The author: an identity input, a stored identity, or just an organisation name. */
  createdBy?: EntityInput | StoredEntity | string;
  externalReferences?: readonly ExternalReferenceInput[];
  /**
   * The organisations the entity is shared with (Enterprise organisation segregation): names, identity
   * inputs or stored organisations. The platform puts their ids in the extension's `granted_refs`.
   */
  grantedOrganizations?: ReadonlyArray<EntityInput | StoredEntity | string>;
  /** Overrides the computed standard id. */
  standard_id?: string;
  /** Overrides the (deterministic) internal id. */
  id?: string;
  /** Extra STIX properties, merged over the generated STIX object (shallow). */
  stix?: Record<string, unknown>;
}

/** An entity as the testkit stores it. */
export interface StoredEntity {
  /** Internal id (the platform's `id`); deterministic unless given. */
  id: string;
  standard_id: string;
  entity_type: string;
  parent_types: string[];
  /** The GraphQL type name (`__typename`). */
  typename: string;
  /** Type-specific attributes as GraphQL exposes them (value, name, pattern, x_opencti_score...). */
  attributes: Record<string, unknown>;
  objectMarking: PlatformMarking[];
  objectLabel: PlatformLabel[];
  createdBy: StoredEntity | null;
  externalReferences: PlatformExternalReference[];
  /** Standard ids of the organisations it is shared with (`objectOrganization`). */
  grantedRefs: string[];
  created_at: string;
  updated_at: string;
  /** The STIX 2.1 form the platform sends in listen messages' `stix_entity`. */
  stix_entity: Record<string, unknown>;
}

function specOf(entityType: string): EntityTypeSpec {
  const spec = ENTITY_TYPES[entityType];
  if (spec === undefined) {
    throw new TestPlatformError(
      `The testkit does not model entity type "${entityType}"; supported: ${SUPPORTED_ENTITY_TYPES.join(', ')}`,
    );
  }
  return spec;
}

function parentTypes(spec: EntityTypeSpec): string[] {
  switch (spec.kind) {
    case 'observable':
      return ['Basic-Object', 'Stix-Object', 'Stix-Core-Object', 'Stix-Cyber-Observable'];
    case 'domain':
      return ['Basic-Object', 'Stix-Object', 'Stix-Core-Object', 'Stix-Domain-Object'];
    case 'identity':
      return ['Basic-Object', 'Stix-Object', 'Stix-Core-Object', 'Stix-Domain-Object', 'Identity'];
  }
}

const normalizeName = (name: string): string => name.toLowerCase().trim();

function required(input: EntityInput, field: 'value' | 'name' | 'pattern'): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') {
    throw new TestPlatformError(`addEntity(${input.entity_type}) needs "${field}"`);
  }
  return value;
}

/** The platform's standard id for the modelled types (its identifier rules for these types). */
export function standardIdOf(input: EntityInput): string {
  const spec = specOf(input.entity_type);
  if (spec.kind === 'observable') {
    if (input.entity_type === 'Autonomous-System') {
      if (typeof input.number !== 'number') {
        throw new TestPlatformError('addEntity(Autonomous-System) needs "number"');
      }
      return deterministicStixId(spec.stixType, { number: input.number });
    }
    return deterministicStixId(spec.stixType, { value: required(input, 'value') });
  }
  if (spec.kind === 'identity') {
    return deterministicStixId('identity', {
      name: normalizeName(required(input, 'name')),
      identity_class: spec.identityClass,
    });
  }
  switch (input.entity_type) {
    case 'Indicator':
      return deterministicStixId('indicator', { pattern: required(input, 'pattern').trim() });
    case 'Report':
      return deterministicStixId('report', {
        name: normalizeName(required(input, 'name')),
        published: input.published ?? null,
      });
    case 'Attack-Pattern':
      // The platform lower-cases the MITRE id too (opencti#16132) and ignores a blank one.
      return input.x_mitre_id !== undefined && normalizeName(input.x_mitre_id) !== ''
        ? deterministicStixId('attack-pattern', { x_mitre_id: normalizeName(input.x_mitre_id) })
        : deterministicStixId('attack-pattern', { name: normalizeName(required(input, 'name')) });
    default:
      return deterministicStixId(spec.stixType, { name: normalizeName(required(input, 'name')) });
  }
}

/** OpenCTI's `isEmptyField`: null, undefined, '', [] and {} carry no information and are dropped. */
function isEmptyField(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/** OpenCTI's `cleanObject`: removes empty fields and property extensions that only carry their type. */
export function cleanObject(data: Record<string, unknown>): Record<string, unknown> {
  const cleaned: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (isEmptyField(value)) continue;
    if (key === 'extensions' && typeof value === 'object' && value !== null) {
      const extensions: Record<string, unknown> = {};
      for (const [extKey, ext] of Object.entries(value as Record<string, unknown>)) {
        const record = ext as Record<string, unknown>;
        if (record.extension_type === 'property-extension' && Object.keys(record).length === 1) continue;
        extensions[extKey] = ext;
      }
      cleaned[key] = extensions;
      continue;
    }
    cleaned[key] = value;
  }
  return cleaned;
}

function typeAttributes(input: EntityInput, spec: EntityTypeSpec): Record<string, unknown> {
  switch (spec.kind) {
    case 'observable': {
      const common = { x_opencti_score: input.score ?? null, x_opencti_description: input.description ?? null };
      if (input.entity_type === 'Autonomous-System') {
        return { ...common, number: input.number ?? null, name: input.name ?? null, rir: null };
      }
      return { ...common, value: input.value ?? null };
    }
    case 'identity':
      return {
        name: input.name ?? null,
        description: input.description ?? null,
        identity_class: spec.identityClass,
        roles: null,
        contact_information: null,
        x_opencti_aliases: null,
        x_opencti_reliability: null,
        ...(input.entity_type === 'Organization' ? { x_opencti_organization_type: null } : {}),
      };
    case 'domain': {
      const common = { name: input.name ?? null, description: input.description ?? null };
      switch (input.entity_type) {
        case 'Indicator':
          return {
            ...common,
            name: input.name ?? input.pattern ?? null,
            pattern: input.pattern ?? null,
            pattern_type: input.pattern_type ?? 'stix',
            pattern_version: null,
            indicator_types: null,
            valid_from: null,
            valid_until: null,
            x_opencti_score: input.score ?? null,
            x_opencti_detection: false,
            x_opencti_main_observable_type: null,
          };
        case 'Report':
          return { ...common, published: input.published ?? null, report_types: null };
        case 'Attack-Pattern':
          return { ...common, aliases: null, x_mitre_id: input.x_mitre_id ?? null };
        case 'Malware':
          return { ...common, aliases: null, malware_types: null, is_family: false };
        case 'Vulnerability':
          return { ...common, x_opencti_aliases: null };
        case 'Tool':
          return { ...common, aliases: null, tool_types: null };
        default:
          return { ...common, aliases: null };
      }
    }
  }
}

function labelOf(value: string): PlatformLabel {
  const standardId = deterministicStixId('label', { value });
  return { id: internalIdFor(standardId), standard_id: standardId, entity_type: 'Label', value, color: '#000000' };
}

function externalReferenceOf(input: ExternalReferenceInput): PlatformExternalReference {
  const standardId =
    input.url !== undefined
      ? deterministicStixId('external-reference', { url: input.url })
      : deterministicStixId('external-reference', {
          source_name: input.source_name,
          external_id: input.external_id ?? null,
        });
  return {
    id: internalIdFor(`${standardId}:${input.source_name}`),
    standard_id: standardId,
    entity_type: 'External-Reference',
    source_name: input.source_name,
    url: input.url ?? null,
    external_id: input.external_id ?? null,
    description: input.description ?? null,
  };
}

function stixExternalReferences(refs: readonly PlatformExternalReference[]): Record<string, unknown>[] {
  return refs.map((ref) =>
    cleanObject({
      source_name: ref.source_name,
      description: ref.description,
      url: ref.url,
      external_id: ref.external_id,
    }),
  );
}

/** The platform's STIX 2.1 rendering of a stored entity (`convertStoreToStix_2_1`). */
function toStix(entity: Omit<StoredEntity, 'stix_entity'>, spec: EntityTypeSpec): Record<string, unknown> {
  const octiExtension = cleanObject({
    extension_type: 'property-extension',
    id: entity.id,
    type: entity.entity_type,
    created_at: entity.created_at,
    updated_at: entity.updated_at,
    is_inferred: false,
    granted_refs: entity.grantedRefs,
  });
  const base = {
    id: entity.standard_id,
    spec_version: '2.1',
    type: spec.stixType,
  };
  const markingRefs = entity.objectMarking.map((m) => m.standard_id);
  const labels = entity.objectLabel.map((l) => l.value);
  const createdByRef = entity.createdBy?.standard_id;
  const a = entity.attributes;
  if (spec.kind === 'observable') {
    const observableFields =
      entity.entity_type === 'Autonomous-System' ? { number: a.number, name: a.name } : { value: a.value };
    return cleanObject({
      ...base,
      ...observableFields,
      object_marking_refs: markingRefs,
      extensions: {
        [STIX_EXT_OCTI]: octiExtension,
        [STIX_EXT_OCTI_SCO]: cleanObject({
          extension_type: 'property-extension',
          labels,
          description: a.x_opencti_description,
          score: a.x_opencti_score,
          created_by_ref: createdByRef,
          external_references: stixExternalReferences(entity.externalReferences),
        }),
      },
    });
  }
  const domain = {
    ...base,
    extensions: { [STIX_EXT_OCTI]: octiExtension },
    created: entity.created_at,
    modified: entity.updated_at,
    revoked: false,
    confidence: 100,
    labels,
    object_marking_refs: markingRefs,
    created_by_ref: createdByRef,
    external_references: stixExternalReferences(entity.externalReferences),
  };
  if (spec.kind === 'identity') {
    return cleanObject({ ...domain, name: a.name, description: a.description, identity_class: a.identity_class });
  }
  if (entity.entity_type === 'Indicator') {
    return cleanObject({
      ...domain,
      name: a.name,
      description: a.description,
      pattern: a.pattern,
      pattern_type: a.pattern_type,
      extensions: {
        [STIX_EXT_OCTI]: cleanObject({ ...octiExtension, score: a.x_opencti_score, detection: a.x_opencti_detection }),
      },
    });
  }
  if (entity.entity_type === 'Report') {
    return cleanObject({ ...domain, name: a.name, description: a.description, published: a.published });
  }
  return cleanObject({ ...domain, name: a.name, description: a.description });
}

/** An entity's OpenCTI fields after an import, as the knowledge store computed them (see knowledge.ts). */
export interface EntityFields {
  createdBy: string | null;
  markings: readonly PlatformMarking[];
  labels: readonly string[];
  externalReferences: readonly ExternalReferenceInput[];
  grantedRefs: readonly string[];
  score: number | null;
  description: string | null;
}

/** In-memory store of the entities a test registered, addressable by internal or standard id. */
export class EntityStore {
  readonly #byId = new Map<string, StoredEntity>();
  /** Internal id by standard id and by STIX id: the worker looks every ingested object up. */
  readonly #byStixId = new Map<string, string>();
  /** The `stix` overrides given at registration, re-applied whenever the STIX form is rendered again. */
  readonly #overrides = new Map<string, Record<string, unknown>>();
  readonly #now: () => Date;

  constructor(now: () => Date) {
    this.#now = now;
  }

  /** Stores the entity (replacing one with the same standard id) and returns it with its STIX form. */
  add(input: EntityInput): StoredEntity {
    const spec = specOf(input.entity_type);
    const standardId = input.standard_id ?? standardIdOf(input);
    const createdBy = input.createdBy === undefined ? null : this.#author(input.createdBy);
    const grantedRefs = (input.grantedOrganizations ?? []).map((org) => this.#organization(org).standard_id);
    const at = this.#now().toISOString();
    const entity: Omit<StoredEntity, 'stix_entity'> = {
      id: input.id ?? internalIdFor(standardId),
      standard_id: standardId,
      entity_type: input.entity_type,
      parent_types: parentTypes(spec),
      typename: spec.typename,
      attributes: typeAttributes(input, spec),
      objectMarking: (input.markings ?? []).map((m) => resolveMarking(m)),
      objectLabel: (input.labels ?? []).map((value) => labelOf(value)),
      createdBy,
      externalReferences: (input.externalReferences ?? []).map((ref) => externalReferenceOf(ref)),
      grantedRefs: [...new Set(grantedRefs)],
      created_at: at,
      updated_at: at,
    };
    const overrides = input.stix ?? {};
    const stored: StoredEntity = { ...entity, stix_entity: { ...toStix(entity, spec), ...overrides } };
    const replaced = this.#byStixId.get(stored.standard_id);
    if (replaced !== undefined) {
      const existing = this.#byId.get(replaced);
      this.#byId.delete(replaced);
      this.#overrides.delete(replaced);
      if (existing !== undefined) this.#byStixId.delete(String(existing.stix_entity.id));
    }
    this.#byId.set(stored.id, stored);
    this.#overrides.set(stored.id, overrides);
    this.#byStixId.set(stored.standard_id, stored.id);
    if (typeof stored.stix_entity.id === 'string') this.#byStixId.set(stored.stix_entity.id, stored.id);
    return stored;
  }

  /**
   * Replaces the OpenCTI fields of a stored entity with what an import left it holding, and renders its
   * STIX form again (so the next enrichment reads the platform's copy as it now is).
   */
  applyFields(id: string, fields: EntityFields, author: (standardId: string) => StoredEntity | null): StoredEntity {
    const current = this.get(id);
    if (current === undefined) throw new TestPlatformError(`applyFields: no entity ${id}`);
    const spec = specOf(current.entity_type);
    const attributes = { ...current.attributes };
    if (spec.kind === 'observable') {
      attributes.x_opencti_score = fields.score;
      attributes.x_opencti_description = fields.description;
    } else {
      if ('x_opencti_score' in attributes) attributes.x_opencti_score = fields.score;
      attributes.description = fields.description;
    }
    const entity: Omit<StoredEntity, 'stix_entity'> = {
      ...current,
      attributes,
      objectMarking: [...fields.markings],
      objectLabel: fields.labels.map((value) => labelOf(value)),
      createdBy: fields.createdBy === null ? null : (author(fields.createdBy) ?? current.createdBy),
      externalReferences: fields.externalReferences.map((ref) => externalReferenceOf(ref)),
      grantedRefs: [...fields.grantedRefs],
      updated_at: this.#now().toISOString(),
    };
    const stored: StoredEntity = {
      ...entity,
      stix_entity: { ...toStix(entity, spec), ...(this.#overrides.get(current.id) ?? {}) },
    };
    this.#byId.set(stored.id, stored);
    return stored;
  }

  /** The entity whose internal id, standard id or STIX id (in `stix_entity.id`) is `id`. */
  get(id: string): StoredEntity | undefined {
    const direct = this.#byId.get(id);
    if (direct !== undefined) return direct;
    const internal = this.#byStixId.get(id);
    return internal === undefined ? undefined : this.#byId.get(internal);
  }

  all(): StoredEntity[] {
    return [...this.#byId.values()];
  }

  #author(author: EntityInput | StoredEntity | string): StoredEntity {
    if (typeof author === 'string') {
      return this.add({ entity_type: 'Organization', name: author });
    }
    if ('stix_entity' in author) {
      return author;
    }
    if (specOf(author.entity_type).kind !== 'identity') {
      throw new TestPlatformError(`createdBy must be an identity, not ${author.entity_type}`);
    }
    return this.add(author);
  }

  #organization(org: EntityInput | StoredEntity | string): StoredEntity {
    const stored = this.#author(org);
    if (stored.entity_type !== 'Organization') {
      throw new TestPlatformError(`grantedOrganizations must be organisations, not ${stored.entity_type}`);
    }
    return stored;
  }
}
