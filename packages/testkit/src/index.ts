/**
 * @cti/connector-testkit — a stand-in OpenCTI platform for connector tests and demos.
 *
 * ```ts
 * const platform = await startTestPlatform();                 // GraphQL on 127.0.0.1, real RabbitMQ
 * // run the connector with OPENCTI_URL=platform.url, OPENCTI_TOKEN=platform.token
 * const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '1.2.3.4', markings: ['TLP:GREEN'] });
 * const workId = await platform.askEnrichment(connectorId, ip.id);   // the UI's "Enrich" button
 * const work = await platform.waitForWork(workId);            // complete: toProcessed + every expectation
 * expect(platform.objects({ workId })).toHaveLength(3);       // what the worker ingested
 * await platform.close();                                     // deletes the queues it created
 * ```
 *
 * What it answers: the GraphQL operations pycti 6.8.10 sends (register, ping, works, entity read,
 * stixBundlePush, playbookStepExecution, and for review before import pycti 7's multipart uploadPending and
 * draftWorkspaceAdd) from `schema/testkit.graphql`, a strict subset of the real schema.
 * What it does on the broker: the platform's exchanges, queues, bindings and listen messages, and a worker
 * that consumes push queues, imports each object as pycti's importer reads it, checks it against STIX 2.1
 * and reports expectations. What it lets a test observe: every request, push message, ingested object and
 * work operation, the workbench files and drafts connectors made (`workbenchFiles()`, `drafts()`,
 * `draftObjects(id)`: what goes into a draft stays out of the knowledge), what the platform ends up holding
 * per object (`knowledge(id)`) and every STIX violation
 * (a strict platform's `close()` throws on them). What it lets a test break: GraphQL faults, stale pings, a
 * stopped server, deleted queues, a paused worker, a full queue. How it deploys from a catalog file (its checks,
 * the configuration it stores, the environment XTM Composer gives the container): `managed-deployment.ts`.
 */

export {
  type CatalogFacts,
  catalogFactsSchema,
  defineCatalog,
  SOLUTION_CATEGORIES,
  USE_CASES,
} from './catalog.js';
export {
  type AddedValues,
  type Conformance,
  type DemoCase,
  defineConformance,
  type EndState,
  type InvalidCombination,
  type ObservableInput,
  type VendorState,
} from './conformance.js';
export { type CliResult, type RunningConnector, runCli, startConnector, waitUntil } from './connector-runner.js';
export type {
  ConnectorInfo,
  ConnectorRecord,
  ConnectorSnapshot,
  PingRecord,
  RegisterConnectorInput,
  RegistrationRecord,
} from './connectors.js';
export {
  cleanObject,
  type EntityInput,
  type ExternalReferenceInput,
  type PlatformExternalReference,
  type PlatformLabel,
  STIX_EXT_OCTI,
  STIX_EXT_OCTI_SCO,
  type StoredEntity,
  SUPPORTED_ENTITY_TYPES,
  standardIdOf,
} from './entities.js';
export { TestPlatformError } from './errors.js';
export { type FakeReply, type FakeRequest, type FakeRoute, type FakeVendor, startFakeVendor } from './fake-vendor.js';
export type { FaultHandle, FaultInjector, GraphqlFaultSpec, InjectedGraphqlError } from './faults.js';
export { canonicalJson, deterministicStixId, uuidV5 } from './ids.js';
export { type KnowledgeRecord, mergeImport } from './knowledge.js';
export {
  type CatalogContract,
  type CatalogFile,
  CatalogRejectedError,
  deploymentForm,
  loadCatalog,
  type ManagedConnector,
  managedConnector,
  NOT_IN_THE_FORM,
  storedConfiguration,
} from './managed-deployment.js';
export {
  customMarking,
  isTlpLevel,
  type MarkingInput,
  type PlatformMarking,
  TLP_MARKING_IDS,
  type TlpLevel,
  tlpMarking,
} from './markings.js';
export {
  ADMIN_USER_ID,
  type AskEnrichmentOptions,
  type AskPlaybookOptions,
  AUTOMATION_MANAGER_USER_ID,
  DEFAULT_CONNECTOR_USER_ID,
  DEFAULT_PLATFORM_VERSION,
  DEFAULT_TEST_TOKEN,
  type PlaybookRequest,
  type StixViolationRecord,
  startTestPlatform,
  TestPlatform,
  type TestPlatformOptions,
  type WaitForWorkOptions,
  type WaitOptions,
  type WorkerControl,
} from './platform.js';
export {
  extensionAttribute,
  type ImportedExternalReference,
  type ImportedFile,
  OCTI_EXTENSION,
  OCTI_SCO_EXTENSION,
  type PyctiFields,
  readAsPycti,
} from './pycti-import.js';
export type {
  DraftRecord,
  IngestedObject,
  ListenMessageRecord,
  PlaybookStepRecord,
  PushEnvelope,
  PushMessageRecord,
  PushOutcome,
  RecordedRequest,
  RequestFilter,
  WorkbenchFileRecord,
} from './records.js';
export { TESTKIT_SCHEMA_PATH, testkitSchema } from './schema.js';
export {
  describeSightings,
  findSecrets,
  type SecretEncoding,
  type SecretForm,
  type SecretSighting,
  secretForms,
} from './secret-forms.js';
export { AUTH_REQUIRED_BODY } from './server.js';
export {
  assertValidStix,
  StixViolationError,
  stixBundleViolations,
  stixKindOf,
  stixObjectViolations,
} from './stix-validation.js';
export { type ConnectorTestbed, connectorTestbed, type TestbedOptions } from './testbed.js';
export { TIMESTAMP_FORM, timestampFormProblems } from './timestamp-form.js';
export type { BrokerConnection, ConnectorQueueNames } from './topology.js';
export { LISTEN_EXCHANGE, PUSH_EXCHANGE } from './topology.js';
export {
  compareWithUpstream,
  type UpstreamIdCase,
  type UpstreamIdComparison,
  type UpstreamIdVector,
  upstreamIdCase,
  upstreamIdCases,
} from './upstream-ids.js';
export type { CallbackDelivery } from './worker.js';
export type { WorkCounters, WorkDocument, WorkMessage, WorkOperation, WorkSnapshot, WorkStatus } from './works.js';
