/**
 * A small enrichment connector for the runtime's daemon tests: asks the fake vendor about the IP
 * (GET /lookup/<ip> with its ECHO_KEY), answers an indicator based on the observable.
 */
import {
  assembleBundle,
  buildAuthor,
  buildIndicator,
  buildRelationship,
  defineEnrichment,
  env,
} from '@cti/connector-sdk';

export function echoConnector(vendorUrl: string) {
  return defineEnrichment({
    name: 'Echo',
    slug: 'echo',
    scope: ['IPv4-Addr', 'IPv6-Addr'],
    config: { ECHO_KEY: env.secret(), ECHO_MAX_TLP: env.tlp('TLP:AMBER') },
    playbookCompatible: true,
    maxTlp: (c) => c.ECHO_MAX_TLP,
    setup: ({ config, http }) =>
      http({ vendor: 'Echo', baseURL: vendorUrl, auth: { type: 'header', name: 'x-api-key', value: config.ECHO_KEY } }),
    async enrich(entity, { client, now, confidence }) {
      const res = await client.get<{ verdict: string }>(`/lookup/${entity.value}`);
      const author = buildAuthor('Echo Vendor');
      const ctx = { author, markings: entity.markingIds, confidence, now: now().toISOString() };
      const indicator = buildIndicator(
        { pattern: `[ipv4-addr:value = '${entity.value}']`, name: res.data.verdict },
        ctx,
      );
      const rel = buildRelationship(
        { relationship_type: 'based-on', source_ref: indicator.id, target_ref: entity.id },
        ctx,
      );
      return {
        bundle: assembleBundle({ objects: [indicator, rel], author, external: [entity.id, ...entity.markingIds] }),
        message: `Echo: ${entity.value} is ${res.data.verdict}`,
      };
    },
  });
}
