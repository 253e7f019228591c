/**
 * Small connectors for the fault suites, built on the SDK exactly as real connectors are. They answer
 * deterministic objects so a test can tell which request produced what, and count their own calls.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assembleBundle,
  buildAuthor,
  buildIndicator,
  buildObservable,
  buildRelationship,
  defineEnrichment,
  defineImport,
  env,
  z,
} from '@cti/connector-sdk';

export interface EnrichCounter {
  /** Entity values in the order enrich() was entered. */
  calls: string[];
}

/**
 * Enriches IPv4-Addr: waits DELAY_MS (honouring the abort signal, as a vendor call does), answers an
 * indicator based on the observable, and the relationship between them.
 */
export function echoEnrichment(counter: EnrichCounter = { calls: [] }) {
  return defineEnrichment({
    name: 'FaultEcho',
    slug: 'fault-echo',
    scope: ['IPv4-Addr'],
    config: { DELAY_MS: env.int({ default: 0, min: 0 }) },
    maxTlp: () => 'TLP:RED',
    setup: () => null,
    async enrich(entity, { config, signal, now }) {
      counter.calls.push(entity.value ?? entity.id);
      if (config.DELAY_MS > 0) await sleep(config.DELAY_MS, undefined, { signal });
      const author = buildAuthor('Fault Echo');
      const ctx = { author, now: now().toISOString() };
      const indicator = buildIndicator({ pattern: `[ipv4-addr:value = '${entity.value}']` }, ctx);
      const rel = buildRelationship(
        { relationship_type: 'based-on', source_ref: indicator.id, target_ref: entity.id },
        ctx,
      );
      return {
        bundle: assembleBundle({ objects: [indicator, rel], author, external: [entity.id] }),
        message: `echo ${entity.value}`,
      };
    },
  });
}

/** The observable values page `page` of the fake feed holds. */
export const feedValues = (page: number, perPage: number) =>
  Array.from({ length: perPage }, (_, i) => `10.${Math.floor(page / 250)}.${page % 250}.${i + 1}`);

/**
 * Imports a paged feed over HTTP (FEED_URL/page/<n>, answering `{ values: string[], last: boolean }`):
 * one bundle per page, the state remembering the last page whose bundle the broker confirmed.
 */
export const feedImport = defineImport({
  name: 'FaultFeed',
  slug: 'fault-feed',
  config: { FEED_URL: env.url() },
  state: z.object({ last_page: z.number().int() }),
  setup: ({ config, http }) => http({ vendor: 'FaultFeed', baseURL: config.FEED_URL, retry: { maxAttempts: 1 } }),
  async *run({ client, state, signal }) {
    const author = buildAuthor('Fault Feed');
    for (let page = state ? state.last_page + 1 : 0; ; page++) {
      const res = await client.get<{ values: string[]; last: boolean }>(`/page/${page}`, { signal });
      const objects = res.data.values.map((value) => buildObservable('ipv4-addr', { value }, { author }));
      yield { bundle: assembleBundle({ objects, author }), state: { last_page: page } };
      if (res.data.last) return;
    }
  },
});
