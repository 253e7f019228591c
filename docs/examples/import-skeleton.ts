import {
  assembleBundle,
  buildAuthor,
  buildIndicator,
  defineImport,
  env,
  type HttpClient,
  type HttpResponse,
  z,
} from '@cti/connector-sdk';

const page = z.object({
  items: z.array(z.looseObject({ ip: z.string(), first_seen: z.string() })),
  next: z.string().nullable(),
});
type Page = z.output<typeof page>;

export default defineImport({
  name: 'Example Feed',
  slug: 'example-feed',
  config: {
    EXAMPLE_FEED_URL: env.url({ description: 'Feed API base URL' }),
    EXAMPLE_FEED_TOKEN: env.secret({ description: 'Feed API token' }),
    // A base setting redefined: this connector runs hourly unless told otherwise.
    CONNECTOR_DURATION_PERIOD: env.duration({ default: 'PT1H', description: 'Time between two runs' }),
  },
  // The saved state, with the keys the Python connector used, so its state carries over.
  state: z.object({ last_run: z.string() }),
  setup: ({ config, http }): HttpClient =>
    http({
      vendor: 'Example Feed',
      baseURL: config.EXAMPLE_FEED_URL,
      auth: { type: 'bearer', token: config.EXAMPLE_FEED_TOKEN },
    }),

  async *run({ client, state, signal, now }) {
    const author = buildAuthor('Example Feed');
    const started = now().toISOString();
    const since = state?.last_run ?? '1970-01-01T00:00:00Z';
    let cursor: string | null = null;
    do {
      const res: HttpResponse<Page> = await client.get('/indicators', {
        params: { since, cursor },
        schema: page,
        signal,
      });
      const objects = res.data.items.map((item) =>
        buildIndicator(
          { name: item.ip, pattern: `[ipv4-addr:value = '${item.ip}']`, valid_from: item.first_seen },
          { author, now: started },
        ),
      );
      // One bundle per page: memory stays flat however long the feed.
      if (objects.length > 0) yield { bundle: assembleBundle({ objects, author }) };
      cursor = res.data.next;
    } while (cursor !== null);
    // Saved once every bundle above is confirmed by the broker; a failed run keeps the previous state.
    yield { state: { last_run: started } };
  },
});
