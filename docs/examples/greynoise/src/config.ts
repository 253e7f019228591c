import { type ConnectorConfig, env } from '@cti/connector-sdk';

/** The connector's own settings; the SDK adds OPENCTI_*, CONNECTOR_* and the rest. */
export const greynoiseConfig = {
  GREYNOISE_API_KEY: env.secret({ description: 'GreyNoise API key' }),
  GREYNOISE_API_URL: env.url({ default: 'https://api.greynoise.io', description: 'GreyNoise API base URL' }),
  GREYNOISE_MAX_TLP: env.tlp('TLP:AMBER', { description: 'Nothing is sent to GreyNoise above this TLP' }),
  GREYNOISE_REQUESTS_PER_MINUTE: env.int({ default: 30, min: 1, description: "Your plan's request budget" }),
};

export type GreynoiseConfig = ConnectorConfig<typeof greynoiseConfig>;
