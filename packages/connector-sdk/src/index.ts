/**
 * @cti/connector-sdk: what a connector author needs, and nothing else. The list is pinned by a test
 * (public-surface.test.ts) so that it only grows on purpose; the testkit, the bench, the demo and the
 * repository scripts use '@cti/connector-sdk/internal'.
 */

// One zod for the whole suite: connectors validate vendor answers with the SDK's copy.
export { z } from 'zod';

// Settings: the connector's own, declared with `env`, parsed over the base settings.
export type { BaseConfig } from './config/base.js';
export { DurationError, MAX_DURATION_SECONDS, parseDurationSeconds } from './config/duration.js';
export { env } from './config/fields.js';
export { type ConfigOf, type ConfigShape, type Env, loadConfig } from './config/load.js';

// Errors a connector throws, or catches from the vendor client.
export {
  AttachmentError,
  type AttachmentProblem,
  BundleError,
  ConfigError,
  type ConfigIssue,
  CtiError,
  type CtiErrorOptions,
  credentialsRejected,
  InputError,
  RateLimitError,
  UpstreamApiError,
  type UpstreamApiErrorDetails,
} from './errors/index.js';

// The vendor HTTP client.
export {
  createHttpClient,
  createHttpClientWith,
  defaultRuntime as defaultHttpRuntime,
  type HttpRuntime,
} from './http/client.js';
export { LONGEST_VENDOR_WAIT_MS } from './http/retry.js';
export type {
  AcceptingRequest,
  AcceptingRequestOptions,
  HttpAcceptedResponse,
  HttpAuth,
  HttpClient,
  HttpClientOptions,
  HttpLogger,
  HttpRequest,
  HttpRequestOptions,
  HttpResponse,
  ProxyOptions,
  QueryParams,
  QueryValue,
  RateLimit,
  RetryOptions,
} from './http/types.js';

// Logs, and the secrets kept out of them.
export { type Logger, silentLogger } from './log/logger.js';
export { redactString, redactUrl, registerSecret } from './log/redact.js';

// The connector itself: one declarative object, and the process around it.
export {
  type ConnectorConfig,
  type ConnectorDefinition,
  defineEnrichment,
  defineImport,
  type EnrichContext,
  type EnrichmentDefinition,
  type EnrichmentEntity,
  type EnrichResult,
  type ImportContext,
  type ImportDefinition,
  type ImportItem,
  type SetupContext,
} from './runtime/define.js';
export { dryRunEntity, toEnrichmentEntity } from './runtime/entity.js';
export { packageVersion } from './runtime/package-version.js';
export { runConnector } from './runtime/run.js';
export { shapeOf } from './runtime/settings.js';

// STIX 2.1 with pycti's ids: builders, bundles, the observable update, TLP.
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
} from './stix/builders.js';
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
} from './stix/builders.js';
export { type AssembleBundleInput, assembleBundle, bundleIdFor, validateBundle } from './stix/bundle.js';
export {
  ATTACHABLE_MIME_TYPES,
  type AttachFileOptions,
  attachFile,
  DEFAULT_MAX_FILE_BYTES,
  type FileAttachment,
  type OpenCtiFile,
} from './stix/files.js';
export {
  attackPatternId,
  externalReferenceId,
  generateId,
  type IdDate,
  identityId,
  incidentId,
  indicatorId,
  isObservableType,
  killChainPhaseId,
  labelId,
  locationId,
  malwareId,
  markingDefinitionId,
  noteId,
  OPENCTI_SCO_EXTENSION,
  OPENCTI_SDO_EXTENSION,
  observableId,
  relationshipId,
  reportId,
  sightingId,
  TLP_MARKING_IDS,
  threatActorId,
  vulnerabilityId,
} from './stix/ids.js';
export { type ObservableChanges, updateObservable } from './stix/observable-update.js';
export { splitBundle } from './stix/splitter.js';
export { toStixTimestamp } from './stix/timestamps.js';
export {
  maxTlpAllows,
  parseTlp,
  TLP_LEVELS,
  type TlpLevel,
  tlpMarkingDefinition,
  tlpOfMarkingId,
  tlpRank,
} from './stix/tlp.js';
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
} from './stix/types.js';

// Waits of any length, cut short by a signal.
export { sleep } from './time/timers.js';

export { SDK_VERSION } from './version.js';
