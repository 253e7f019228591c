/**
 * @cti/connector-sdk: everything a connector imports. Nothing else in this package is public.
 */
export * from './errors/index.js';
