/**
 * TeamT5: imports the Reports and the Indicator (IOC) Bundles of TeamT5's ThreatVision platform on a
 * schedule, each in its own work, from where the last run stopped.
 */
import { defineImport, packageVersion } from '@cti/connector-sdk';
import { Teamt5Client } from './client.js';
import { resolveAuth, teamt5Config } from './config.js';
import { importTeamt5 } from './run.js';
import { teamt5StateSchema } from './state.js';
import { teamt5Author } from './to-stix.js';

export default defineImport({
  name: 'TeamT5',
  slug: 'teamt5',
  version: packageVersion(import.meta.url),
  config: teamt5Config,
  state: teamt5StateSchema,

  async setup({ config, http, logger, signal }) {
    const { auth, warnings } = resolveAuth(config);
    for (const warning of warnings) logger.warn(warning);
    const client = new Teamt5Client({ config, auth, http, logger });
    // As upstream, the first token is asked for at start-up: wrong credentials stop the connector at once.
    await client.authenticate(signal);
    logger.info(
      { api: config.TEAMT5_API_BASE_URL, auth: auth.kind === 'oauth' ? 'OAuth 2.0 client credentials' : 'API key' },
      'TeamT5 client ready',
    );
    return client;
  },

  run: ({ config, client, logger, signal, state, now, reportError }) =>
    importTeamt5({
      client,
      state,
      firstRunTimestamp: config.TEAMT5_FIRST_RUN_RETRIEVAL_TIMESTAMP,
      mapping: { author: teamt5Author(config.CONNECTOR_NAME), tlp: config.TEAMT5_TLP_LEVEL },
      logger,
      signal,
      now,
      reportError: (message, options) => reportError(message, options),
    }),
});
