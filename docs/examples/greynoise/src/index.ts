import { defineEnrichment } from '@cti/connector-sdk';
import { GreynoiseClient } from './client.js';
import { greynoiseConfig } from './config.js';
import { toStixBundle } from './to-stix.js';

export default defineEnrichment({
  name: 'GreyNoise',
  slug: 'greynoise',
  scope: ['IPv4-Addr'],
  config: greynoiseConfig,
  playbookCompatible: true,
  // The SDK refuses entities above this TLP before enrich() runs: no request leaves.
  maxTlp: (config) => config.GREYNOISE_MAX_TLP,

  setup: ({ config, http }) =>
    new GreynoiseClient(
      http({
        vendor: 'GreyNoise',
        baseURL: config.GREYNOISE_API_URL,
        auth: { type: 'header', name: 'key', value: config.GREYNOISE_API_KEY },
        rateLimit: { perMinute: config.GREYNOISE_REQUESTS_PER_MINUTE },
        timeoutMs: 15_000,
      }),
    ),

  async enrich(entity, { client, signal, confidence, now }) {
    const ip = entity.value ?? '';
    const answer = await client.lookup(ip, signal);
    if (!answer) return { message: `GreyNoise has not seen ${ip}` };
    const bundle = toStixBundle(entity, answer, now(), confidence);
    return { bundle, message: `GreyNoise: ${ip} is ${answer.classification ?? 'unclassified'}` };
  },
});
