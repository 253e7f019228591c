/**
 * @cti/connector-sdk: everything a connector imports. Nothing else in this package is public.
 */
export * from './config/index.js';
export * from './errors/index.js';
export * from './log/index.js';
