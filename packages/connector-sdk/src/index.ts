/**
 * @cti/connector-sdk: everything a connector imports. Nothing else in this package is public.
 */

// One zod for the whole suite: connectors validate vendor answers with the SDK's copy.
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
export * from './runtime/index.js';
export * from './stix/index.js';
export * from './time/index.js';
export { SDK_VERSION } from './version.js';
