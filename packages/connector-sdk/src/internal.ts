/**
 * @cti/connector-sdk/internal: the SDK's internals, for the testkit, the bench, the demo and the repository
 * scripts (the platform client, the queues, the metrics, the settings' metadata). Connectors import only
 * '@cti/connector-sdk'; nothing here is a promise to them.
 */

export { z } from 'zod';
export * from './config/index.js';
export * from './errors/index.js';
export * from './http/index.js';
export * from './log/index.js';
export {
  type ConnectorInfo,
  type ConnectorState,
  documents,
  type EnrichmentEntity as PlatformEntity,
  OpenCtiClient,
  type OpenCtiClientOptions,
  type RegisterConnectorInput,
  type RegisteredConnector,
} from './opencti/index.js';
export * from './queue/index.js';
export {
  bundleFileName,
  DirectoryOutput,
  pythonFloatText,
  retentionCutoffMs,
} from './runtime/delivery/directory.js';
export { DeliverySink, type ReviewPort } from './runtime/delivery/sink.js';
export * from './runtime/index.js';
export { AmqpBundleSink, ApiBundleSink, type BundleSink, StdoutBundleSink } from './runtime/sinks.js';
export * from './stix/index.js';
export * from './time/index.js';
export { SDK_VERSION } from './version.js';
