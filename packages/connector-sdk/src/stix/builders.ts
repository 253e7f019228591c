/**
 * Pure builders for the STIX objects the connectors emit. Each fills `spec_version`, the
 * deterministic id (never random), `created`/`modified` (from the input or `ctx.now`, never the
 * clock), the author, markings and confidence from a shared context, and leaves out every empty
 * property so the same input always gives the same bytes. Every timestamp is written in one form
 * (`…T10:00:00.000Z`, see timestamps.ts); ids hash the values as given, as pycti does.
 */

import { BundleError } from '../errors/index.js';
import {
  attackPatternId,
  identityId,
  incidentId,
  indicatorId,
  locationId,
  noteId,
  observableId,
  relationshipId,
  reportId,
  sightingId,
  vulnerabilityId,
} from './ids.js';
import { requireStixTimestamp, STIX_TIMESTAMP_PROPERTIES } from './timestamps.js';
import type {
  AttackPattern,
  ExternalReference,
  Identity,
  Incident,
  Indicator,
  KillChainPhase,
  Location,
  LocationType,
  Note,
  ObservableByType,
  ObservableCommon,
  ObservableType,
  Relationship,
  Report,
  Sighting,
  Vulnerability,
} from './types.js';

/** What every object of one bundle shares. */
export interface StixContext {
  /** The connector's identity (or its id): `created_by_ref` on SDOs/SROs, `x_opencti_created_by_ref` on SCOs. */
  author?: Identity | string | undefined;
  /** Marking-definition ids put on every object (e.g. `[TLP_MARKING_IDS['TLP:AMBER']]`). */
  markings?: readonly string[] | undefined;
  /** Confidence (0–100) for SDOs and SROs that do not set their own. */
  confidence?: number | undefined;
  /** ISO timestamp used as `created`/`modified` when the input has none. */
  now?: string | undefined;
}

/** Properties every SDO/SRO input may carry on top of its own. */
export type CoreInput = {
  /** Defaults to `ctx.now`. */
  created?: string | undefined;
  /** Defaults to `created`. */
  modified?: string | undefined;
  /** Defaults to the context author. */
  created_by_ref?: string | undefined;
  labels?: readonly string[] | undefined;
  /** Defaults to `ctx.confidence`. */
  confidence?: number | undefined;
  external_references?: readonly ExternalReference[] | undefined;
  /** Added after the context markings. */
  object_marking_refs?: readonly string[] | undefined;
  [property: `x_${string}`]: unknown;
};

const CORE_KEYS: ReadonlySet<string> = new Set([
  'created',
  'modified',
  'created_by_ref',
  'labels',
  'confidence',
  'external_references',
  'object_marking_refs',
]);

function authorId(author: Identity | string | undefined): string | undefined {
  return typeof author === 'string' ? author : author?.id;
}

function isEmpty(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}

function uniqueStrings(...lists: ReadonlyArray<readonly string[] | undefined>): string[] {
  return [...new Set(lists.flatMap((list) => list ?? []))];
}

/** A timestamp input in the SDK's form; a missing or malformed one names its field. */
function requireTimestamp(type: string, field: string, value: string | undefined): string {
  if (value === undefined) {
    throw new BundleError(`Cannot build a ${type}`, [`no ${field}: pass it in the input or set ctx.now`]);
  }
  return requireStixTimestamp(type, field, value);
}

/** Copies `source` into `target` without undefined values or empty lists; arrays are copied. */
function assignDefined(target: Record<string, unknown>, source: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(source)) {
    if (isEmpty(value)) continue;
    target[key] = Array.isArray(value) ? [...value] : value;
  }
}

/**
 * Assembles an SDO/SRO: the fixed head, then the type's own properties in input order, then the
 * shared ones. `created` is the one the id was computed with.
 */
function buildCore<T>(
  type: string,
  id: string,
  created: string,
  props: Readonly<Record<string, unknown>> & CoreInput,
  ctx: StixContext,
  exclude: ReadonlySet<string> = new Set(),
): T {
  const createdText = requireTimestamp(type, 'created', created);
  const object: Record<string, unknown> = {
    type,
    spec_version: '2.1',
    id,
    created: createdText,
    modified: props.modified === undefined ? createdText : requireTimestamp(type, 'modified', props.modified),
  };
  const createdBy = props.created_by_ref ?? authorId(ctx.author);
  if (createdBy !== undefined) object.created_by_ref = createdBy;
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props)) {
    if (CORE_KEYS.has(key) || exclude.has(key)) continue;
    own[key] =
      STIX_TIMESTAMP_PROPERTIES.has(key) && typeof value === 'string' ? requireStixTimestamp(type, key, value) : value;
  }
  assignDefined(object, own);
  assignDefined(object, {
    labels: props.labels,
    confidence: props.confidence ?? ctx.confidence,
    external_references: props.external_references?.map((ref) => ({ ...ref })),
    object_marking_refs: uniqueStrings(ctx.markings, props.object_marking_refs),
  });
  return object as T;
}

/** `created` as given (or `ctx.now`), checked: the id rules that use it hash it as given, buildCore writes it in the SDK's form. */
function createdOf(type: string, props: CoreInput, ctx: StixContext): string {
  const created = props.created ?? ctx.now;
  requireTimestamp(type, 'created', created);
  return created as string;
}

export type IdentityInput = CoreInput & {
  name: string;
  /** Defaults to 'organization'. */
  identity_class?: string | undefined;
  description?: string | undefined;
  roles?: readonly string[] | undefined;
  sectors?: readonly string[] | undefined;
  contact_information?: string | undefined;
};

export function buildIdentity(props: IdentityInput, ctx: StixContext = {}): Identity {
  const identityClass = props.identity_class ?? 'organization';
  const id = identityId(props.name, identityClass);
  return buildCore<Identity>(
    'identity',
    id,
    createdOf('identity', props, ctx),
    { ...props, identity_class: identityClass },
    ctx,
  );
}

export type AuthorExtra = Omit<IdentityInput, 'name' | 'identity_class' | 'description'>;

/**
 * `created`/`modified` of an author built without dates. STIX 2.1 requires both on every SDO; a fixed
 * instant (the Unix epoch: no claim about when the organisation was described) keeps the author the same
 * bytes on every run, where a clock reading would make each run a new version of it.
 */
export const AUTHOR_CREATED = '1970-01-01T00:00:00.000Z';

/**
 * The connector's author: an organization Identity with pycti's id for (`name`, organization), dated
 * {@link AUTHOR_CREATED} unless `extra.created` says otherwise. It never carries itself as its own creator.
 */
export function buildAuthor(name: string, description?: string, extra: AuthorExtra = {}): Identity {
  const created = requireTimestamp('identity', 'created', extra.created ?? AUTHOR_CREATED);
  const author: Record<string, unknown> = {
    type: 'identity',
    spec_version: '2.1',
    id: identityId(name, 'organization'),
    created,
    modified: requireTimestamp('identity', 'modified', extra.modified ?? created),
  };
  const { created: _created, modified: _modified, ...rest } = extra;
  assignDefined(author, { name, description, identity_class: 'organization', ...rest });
  return author as Identity;
}

export type IndicatorInput = CoreInput & {
  pattern: string;
  /** Defaults to 'stix'. */
  pattern_type?: string | undefined;
  /** Defaults to `created`. */
  valid_from?: string | undefined;
  name?: string | undefined;
  description?: string | undefined;
  indicator_types?: readonly string[] | undefined;
  pattern_version?: string | undefined;
  valid_until?: string | undefined;
  kill_chain_phases?: readonly KillChainPhase[] | undefined;
  x_opencti_main_observable_type?: string | undefined;
  x_opencti_score?: number | undefined;
};

/** `pattern_type` defaults to 'stix', whose `pattern_version` defaults to '2.1' (as stix2 sets it). */
export function buildIndicator(props: IndicatorInput, ctx: StixContext = {}): Indicator {
  const created = createdOf('indicator', props, ctx);
  const patternType = props.pattern_type ?? 'stix';
  return buildCore<Indicator>(
    'indicator',
    indicatorId(props.pattern),
    created,
    {
      ...props,
      pattern_type: patternType,
      pattern_version: props.pattern_version ?? (patternType === 'stix' ? '2.1' : undefined),
      valid_from: props.valid_from ?? created,
    },
    ctx,
  );
}

export type RelationshipInput = CoreInput & {
  relationship_type: string;
  source_ref: string;
  target_ref: string;
  description?: string | undefined;
  start_time?: string | undefined;
  stop_time?: string | undefined;
};

export function buildRelationship(props: RelationshipInput, ctx: StixContext = {}): Relationship {
  const id = relationshipId(
    props.relationship_type,
    props.source_ref,
    props.target_ref,
    props.start_time,
    props.stop_time,
  );
  return buildCore<Relationship>('relationship', id, createdOf('relationship', props, ctx), props, ctx);
}

export type SightingInput = CoreInput & {
  sighting_of_ref: string;
  where_sighted_refs: readonly string[];
  description?: string | undefined;
  first_seen?: string | undefined;
  last_seen?: string | undefined;
  count?: number | undefined;
  observed_data_refs?: readonly string[] | undefined;
  summary?: boolean | undefined;
  x_opencti_sighting_of_ref?: string | undefined;
};

export function buildSighting(props: SightingInput, ctx: StixContext = {}): Sighting {
  const id = sightingId(props.sighting_of_ref, props.where_sighted_refs, props.first_seen, props.last_seen);
  return buildCore<Sighting>('sighting', id, createdOf('sighting', props, ctx), props, ctx);
}

export type NoteInput = CoreInput & {
  content: string;
  object_refs: readonly string[];
  abstract?: string | undefined;
  note_types?: readonly string[] | undefined;
  authors?: readonly string[] | undefined;
  /**
   * pycti's id hashes the content with `created`, so a note re-built on every run (created = now)
   * is a new note every run. `true` hashes the content alone: same text, same note.
   */
  idFromContentOnly?: boolean | undefined;
};

export function buildNote(props: NoteInput, ctx: StixContext = {}): Note {
  const created = createdOf('note', props, ctx);
  const id = noteId(props.content, props.idFromContentOnly === true ? null : created);
  return buildCore<Note>('note', id, created, props, ctx, new Set(['idFromContentOnly']));
}

export type ReportInput = CoreInput & {
  name: string;
  published: string;
  object_refs: readonly string[];
  description?: string | undefined;
  report_types?: readonly string[] | undefined;
};

export function buildReport(props: ReportInput, ctx: StixContext = {}): Report {
  requireTimestamp('report', 'published', props.published);
  return buildCore<Report>(
    'report',
    reportId(props.name, props.published),
    createdOf('report', props, ctx),
    props,
    ctx,
  );
}

export type IncidentInput = CoreInput & {
  name: string;
  description?: string | undefined;
  first_seen?: string | undefined;
  last_seen?: string | undefined;
  objective?: string | undefined;
  incident_type?: string | undefined;
  severity?: string | undefined;
  source?: string | undefined;
  kill_chain_phases?: readonly KillChainPhase[] | undefined;
};

/** The id hashes the name with `created` (pycti `Incident.generate_id(name, created)`). */
export function buildIncident(props: IncidentInput, ctx: StixContext = {}): Incident {
  const created = createdOf('incident', props, ctx);
  return buildCore<Incident>('incident', incidentId(props.name, created), created, props, ctx);
}

export type LocationInput = CoreInput & {
  name: string;
  x_opencti_location_type: LocationType;
  description?: string | undefined;
  latitude?: number | undefined;
  longitude?: number | undefined;
  precision?: number | undefined;
  region?: string | undefined;
  country?: string | undefined;
  administrative_area?: string | undefined;
  city?: string | undefined;
  street_address?: string | undefined;
  postal_code?: string | undefined;
  x_opencti_aliases?: readonly string[] | undefined;
};

export function buildLocation(props: LocationInput, ctx: StixContext = {}): Location {
  const id = locationId(props.name, props.x_opencti_location_type, {
    latitude: props.latitude,
    longitude: props.longitude,
  });
  return buildCore<Location>('location', id, createdOf('location', props, ctx), props, ctx);
}

export type VulnerabilityInput = CoreInput & {
  name: string;
  description?: string | undefined;
};

export function buildVulnerability(props: VulnerabilityInput, ctx: StixContext = {}): Vulnerability {
  return buildCore<Vulnerability>(
    'vulnerability',
    vulnerabilityId(props.name),
    createdOf('vulnerability', props, ctx),
    props,
    ctx,
  );
}

export type AttackPatternInput = CoreInput & {
  name: string;
  x_mitre_id?: string | undefined;
  description?: string | undefined;
  aliases?: readonly string[] | undefined;
  kill_chain_phases?: readonly KillChainPhase[] | undefined;
};

export function buildAttackPattern(props: AttackPatternInput, ctx: StixContext = {}): AttackPattern {
  return buildCore<AttackPattern>(
    'attack-pattern',
    attackPatternId(props.name, props.x_mitre_id),
    createdOf('attack-pattern', props, ctx),
    props,
    ctx,
  );
}

/** Shorthands for the OpenCTI `x_opencti_*` properties of an observable. */
export type ObservableExtras = {
  /** → `x_opencti_labels`. */
  labels?: readonly string[] | undefined;
  /** → `x_opencti_description`. */
  description?: string | undefined;
  /** → `x_opencti_score` (0–100). */
  score?: number | undefined;
  /** → `x_opencti_external_references`. */
  external_references?: readonly ExternalReference[] | undefined;
  /** Added after the context markings. */
  object_marking_refs?: readonly string[] | undefined;
};

export type ObservableInput<T extends ObservableType> = Omit<
  ObservableByType[T],
  'type' | 'id' | 'spec_version' | 'object_marking_refs'
> &
  ObservableExtras;

const OBSERVABLE_SHORTHANDS: ReadonlySet<string> = new Set([
  'labels',
  'description',
  'score',
  'external_references',
  'object_marking_refs',
]);

/**
 * An observable (SCO) with stix2's deterministic id. SCOs have no created/modified/confidence;
 * the author goes into `x_opencti_created_by_ref` and labels into `x_opencti_labels`, which is
 * where OpenCTI reads them.
 */
export function buildObservable<T extends ObservableType>(
  type: T,
  props: ObservableInput<T>,
  ctx?: StixContext,
): ObservableByType[T];
export function buildObservable(
  type: string,
  props: Readonly<Record<string, unknown>> & ObservableExtras,
  ctx?: StixContext,
): ObservableCommon;
export function buildObservable(
  type: string,
  props: Readonly<Record<string, unknown>> & ObservableExtras,
  ctx: StixContext = {},
): ObservableCommon {
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props)) {
    if (!OBSERVABLE_SHORTHANDS.has(key) && key !== 'type' && key !== 'id' && key !== 'spec_version') own[key] = value;
  }
  const observable: Record<string, unknown> = { type, spec_version: '2.1', id: observableId(type, own) };
  assignDefined(observable, own);
  assignDefined(observable, {
    object_marking_refs: uniqueStrings(ctx.markings, props.object_marking_refs),
    x_opencti_created_by_ref: props.x_opencti_created_by_ref ?? authorId(ctx.author),
    x_opencti_labels: props.labels ?? props.x_opencti_labels,
    x_opencti_description: props.description ?? props.x_opencti_description,
    x_opencti_score: props.score ?? props.x_opencti_score,
    x_opencti_external_references: (props.external_references ?? props.x_opencti_external_references) as unknown,
  });
  return observable as ObservableCommon;
}
