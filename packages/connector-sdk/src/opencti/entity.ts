/**
 * A typed view of the entity read for an enrichment (documents.ts READ_STIX_CORE_OBJECT). The raw
 * answer is kept as `raw` for anything a connector needs beyond the typed fields.
 */

export interface EntityMarking {
  id: string;
  standard_id: string;
  entity_type: string;
  /** "TLP", "PAP", "statement"…; TLP gating reads the marking whose definition_type is "TLP". */
  definition_type: string | null;
  /** "TLP:AMBER", "PAP:GREEN"… */
  definition: string | null;
  x_opencti_order: number;
}

export interface EntityAuthor {
  id: string;
  standard_id: string;
  name: string;
}

export interface EntityExternalReference {
  source_name: string;
  url: string | null;
  external_id: string | null;
}

export interface EnrichmentEntity {
  /** Internal id. */
  id: string;
  /** STIX id (`ipv4-addr--…`), the id the enriched objects must reference. */
  standard_id: string;
  /** OpenCTI type: "IPv4-Addr", "Domain-Name", "Indicator"… */
  entity_type: string;
  parent_types: string[];
  /** The observable's value: `value` where the type has one, else `observable_value`; absent for SDOs. */
  value?: string;
  /** The SDO's name (Identity, Indicator, Malware, Report…); absent for observables. */
  name?: string;
  /** The platform's display name of the entity (`representative.main`), whatever its type. */
  representative?: string;
  /** STIX pattern of an Indicator, with its `pattern_type`. */
  pattern?: string;
  pattern_type?: string;
  /** `x_opencti_description` of an observable. */
  description?: string;
  /** `x_opencti_score` of an observable. */
  score?: number;
  objectMarking: EntityMarking[];
  createdBy?: EntityAuthor;
  /** Label values. */
  objectLabel: string[];
  externalReferences: EntityExternalReference[];
  raw: Record<string, unknown>;
}

/**
 * Maps the `stixCoreObject` answer. Returns null when the platform returned no object (unknown id, or
 * an entity the connector's user may not see); throws a TypeError when the answer lacks the identity
 * fields every StixCoreObject has.
 */
export function toEnrichmentEntity(raw: unknown): EnrichmentEntity | null {
  if (raw === null || raw === undefined) return null;
  if (!isRecord(raw)) throw new TypeError('the entity read did not return an object');
  const id = requiredString(raw, 'id');
  const entity: EnrichmentEntity = {
    id,
    standard_id: requiredString(raw, 'standard_id'),
    entity_type: requiredString(raw, 'entity_type'),
    parent_types: stringArray(raw.parent_types),
    objectMarking: records(raw.objectMarking).flatMap(toMarking),
    objectLabel: records(raw.objectLabel).flatMap((label) => (typeof label.value === 'string' ? [label.value] : [])),
    externalReferences: toExternalReferences(raw.externalReferences),
    raw,
  };
  const value = nonEmptyString(raw.value) ?? nonEmptyString(raw.observable_value);
  if (value !== undefined) entity.value = value;
  const name = nonEmptyString(raw.name);
  if (name !== undefined) entity.name = name;
  const representative = isRecord(raw.representative) ? nonEmptyString(raw.representative.main) : undefined;
  if (representative !== undefined) entity.representative = representative;
  const pattern = nonEmptyString(raw.pattern);
  if (pattern !== undefined) entity.pattern = pattern;
  const patternType = nonEmptyString(raw.pattern_type);
  if (patternType !== undefined) entity.pattern_type = patternType;
  const description = nonEmptyString(raw.x_opencti_description);
  if (description !== undefined) entity.description = description;
  if (typeof raw.x_opencti_score === 'number') entity.score = raw.x_opencti_score;
  const author = toAuthor(raw.createdBy);
  if (author) entity.createdBy = author;
  return entity;
}

function toMarking(m: Record<string, unknown>): EntityMarking[] {
  if (typeof m.id !== 'string' || typeof m.standard_id !== 'string') return [];
  return [
    {
      id: m.id,
      standard_id: m.standard_id,
      entity_type: typeof m.entity_type === 'string' ? m.entity_type : 'Marking-Definition',
      definition_type: typeof m.definition_type === 'string' ? m.definition_type : null,
      definition: typeof m.definition === 'string' ? m.definition : null,
      x_opencti_order: typeof m.x_opencti_order === 'number' ? m.x_opencti_order : 0,
    },
  ];
}

function toAuthor(value: unknown): EntityAuthor | undefined {
  if (!isRecord(value) || typeof value.id !== 'string') return undefined;
  return {
    id: value.id,
    standard_id: typeof value.standard_id === 'string' ? value.standard_id : '',
    name: typeof value.name === 'string' ? value.name : '',
  };
}

/** `externalReferences` is a connection (`edges { node }`); a plain list is accepted too. */
function toExternalReferences(value: unknown): EntityExternalReference[] {
  const nodes = isRecord(value)
    ? records(value.edges).flatMap((edge) => (isRecord(edge.node) ? [edge.node] : []))
    : records(value);
  return nodes.flatMap((node) =>
    typeof node.source_name === 'string'
      ? [
          {
            source_name: node.source_name,
            url: typeof node.url === 'string' ? node.url : null,
            external_id: typeof node.external_id === 'string' ? node.external_id : null,
          },
        ]
      : [],
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function requiredString(raw: Record<string, unknown>, key: string): string {
  const value = raw[key];
  if (typeof value !== 'string' || value === '') throw new TypeError(`the entity read returned no ${key}`);
  return value;
}
