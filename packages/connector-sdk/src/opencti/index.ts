/**
 * The OpenCTI GraphQL client of the SDK and its pure helpers (state, connector info, entity view).
 */
export {
  buildRegistrationInput,
  type CallOptions,
  type ConnectorType,
  OpenCtiClient,
  type OpenCtiClientOptions,
  type OpenCtiLogger,
  type PingResult,
  type PlaybookStepVariables,
  type QueueSize,
  type RabbitMqConnection,
  type RegisterConnectorInput,
  type RegisteredConnector,
  type RequestOptions,
  type UploadFile,
  type WaitOptions,
} from './client.js';
export { type ConnectorInfo, defaultConnectorInfo, formatConnectorDate } from './connector-info.js';
export * as documents from './documents.js';
export {
  type EnrichmentEntity,
  type EntityAuthor,
  type EntityExternalReference,
  type EntityMarking,
  toEnrichmentEntity,
} from './entity.js';
export { TOKEN_REJECTED_MESSAGE } from './failure.js';
export { DEFAULT_RETRY_POLICY, type RetryMode, type RetryPolicy } from './retry.js';
export {
  type ConnectorState,
  detectRemoteReset,
  parseState,
  type RemoteStateVerdict,
  serializeState,
} from './state.js';
export { type PlatformVersion, parsePlatformVersion } from './version.js';
