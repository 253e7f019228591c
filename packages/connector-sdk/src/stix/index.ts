/**
 * STIX for connectors: deterministic ids (pycti-identical), TLP, typed builders, bundle assembly
 * and checking, and pycti's splitter.
 */

export type {
  AttackPatternInput,
  AuthorExtra,
  CoreInput,
  IdentityInput,
  IncidentInput,
  IndicatorInput,
  LocationInput,
  NoteInput,
  ObservableExtras,
  ObservableInput,
  RelationshipInput,
  ReportInput,
  SightingInput,
  StixContext,
  VulnerabilityInput,
} from './builders.js';
export {
  AUTHOR_CREATED,
  buildAttackPattern,
  buildAuthor,
  buildIdentity,
  buildIncident,
  buildIndicator,
  buildLocation,
  buildNote,
  buildObservable,
  buildRelationship,
  buildReport,
  buildSighting,
  buildVulnerability,
} from './builders.js';
export type { AssembleBundleInput, ValidateBundleOptions } from './bundle.js';
export { assembleBundle, bundleIdFor, validateBundle } from './bundle.js';
export { canonicalize, MAX_NESTING_DEPTH } from './canonical.js';
export {
  ATTACHABLE_MIME_TYPES,
  type AttachFileOptions,
  attachFile,
  checkFile,
  DEFAULT_MAX_FILE_BYTES,
  type FileAttachment,
  type OpenCtiFile,
  sniffMimeType,
} from './files.js';
export { grantedOrganizations, shareWithOrganizations } from './granted-refs.js';
export type { IdDate, IdExplanation } from './ids.js';
export {
  attackPatternId,
  explainId,
  externalReferenceId,
  generateId,
  identityId,
  incidentId,
  indicatorId,
  isIdKindSupported,
  isObservableType,
  killChainPhaseId,
  labelId,
  locationId,
  malwareId,
  markingDefinitionId,
  noteId,
  OASIS_NAMESPACE,
  OPENCTI_SCO_EXTENSION,
  OPENCTI_SDO_EXTENSION,
  observableId,
  relationshipId,
  reportId,
  sightingId,
  TLP_MARKING_IDS,
  threatActorId,
  uuidV5,
  vulnerabilityId,
} from './ids.js';
export { type ObservableChanges, updateObservable } from './observable-update.js';
export { assertSendable, type SendableLimits, sendableProblems } from './sendable.js';
export type { SplitChunk, SplitOptions, SplitResult } from './splitter.js';
export { isIdSupported, type LazySplitResult, splitBundle, splitBundleLazily } from './splitter.js';
export {
  requireStixTimestamp,
  STIX_TIMESTAMP_FORM,
  STIX_TIMESTAMP_PROPERTIES,
  toStixTimestamp,
  withStixTimestamps,
} from './timestamps.js';
export type { EntityMarking, TlpLevel } from './tlp.js';
export {
  entityTlp,
  maxTlpAllows,
  parseTlp,
  TLP_LEVELS,
  TLP_MARKING_CREATED,
  tlpMarkingDefinition,
  tlpOfMarkingId,
  tlpRank,
  tlpSchema,
  unknownTlpMarkings,
} from './tlp.js';
export type {
  AttackPattern,
  AutonomousSystem,
  Directory,
  DomainName,
  EmailAddr,
  ExternalReference,
  Hostname,
  Identity,
  Incident,
  Indicator,
  Ipv4Addr,
  Ipv6Addr,
  KillChainPhase,
  Location,
  LocationType,
  MacAddr,
  MarkingDefinition,
  Note,
  ObservableByType,
  ObservableCommon,
  ObservableType,
  Relationship,
  Report,
  Sighting,
  StixBundle,
  StixCoreProperties,
  StixFile,
  StixObject,
  Url,
  UserAccount,
  UserAgent,
  Vulnerability,
} from './types.js';
