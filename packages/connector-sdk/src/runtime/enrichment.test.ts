import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { PlatformError, UpstreamApiError } from '../errors/index.js';
import { createLogger, silentLogger } from '../log/index.js';
import { assembleBundle, buildAuthor, buildIndicator, TLP_MARKING_IDS } from '../stix/index.js';
import type { BoundEnrichment } from './bind.js';
import { type EnrichmentPlatform, EnrichmentProcessor, type EnrichmentProcessorOptions } from './enrichment.js';
import { Metrics } from './metrics.js';
import type { BundleSink } from './sinks.js';

const ENTITY = {
  id: 'internal-1',
  standard_id: 'ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7',
  entity_type: 'IPv4-Addr',
  observable_value: '8.8.8.8',
  objectMarking: [
    { id: 'm1', standard_id: TLP_MARKING_IDS['TLP:GREEN'], definition_type: 'TLP', definition: 'TLP:GREEN' },
  ],
};

function message(extra: Record<string, unknown> = {}) {
  return Buffer.from(
    JSON.stringify({
      internal: { work_id: 'work-1', applicant_id: 'user-7', draft_id: null },
      event: { entity_id: ENTITY.standard_id, entity_type: 'IPv4-Addr', ...extra },
    }),
  );
}

function setup(
  overrides: {
    enrich?: BoundEnrichment['enrich'];
    platform?: Partial<EnrichmentPlatform>;
    sink?: BundleSink;
    options?: Partial<EnrichmentProcessorOptions>;
  } = {},
) {
  const calls: string[] = [];
  let vendorCalls = 0;
  const platform: EnrichmentPlatform = {
    workToReceived: async (w) => void calls.push(`received ${w}`),
    workToProcessed: async (w, m, e) => void calls.push(`processed ${w} ${e ? 'error' : 'ok'}: ${m}`),
    workPing: async () => undefined,
    readEntity: async (id, opts) => {
      // The read is the connector's own: the options carry no applicant at all.
      calls.push(`read ${id} in ${JSON.stringify(opts)}`);
      return ENTITY;
    },
    playbookStepExecution: async (v) => void calls.push(`playbook ${v.step_id} ${JSON.parse(v.bundle).objects.length}`),
    ...overrides.platform,
  };
  const sent: Array<{ objects: number; applicantId: string | null; workId: string | null }> = [];
  const sink: BundleSink = overrides.sink ?? {
    send: async (bundle, meta) => {
      sent.push({ objects: bundle.objects.length, applicantId: meta.applicantId, workId: meta.workId });
      return { objects: bundle.objects.length };
    },
  };
  const connector: BoundEnrichment = {
    kind: 'enrichment',
    name: 'T',
    slug: 't',
    version: undefined,
    maxTlp: 'TLP:AMBER',
    playbookCompatible: false,
    enrich:
      overrides.enrich ??
      (async (entity, ctx) => {
        vendorCalls++;
        const author = buildAuthor('T');
        const ind = buildIndicator(
          { pattern: `[ipv4-addr:value = '${entity.value}']` },
          { author, now: ctx.now().toISOString() },
        );
        return { bundle: assembleBundle({ objects: [ind], author }) };
      }),
  };
  const processor = new EnrichmentProcessor({
    connector,
    confidence: undefined,
    updateExistingData: false,
    platform,
    sink,
    logger: silentLogger(),
    metrics: new Metrics(),
    scope: ['IPv4-Addr'],
    connectorUserId: 'connector-user',
    shutdown: new AbortController().signal,
    outageBackoffMs: 1,
    ...overrides.options,
  });
  return { processor, calls, sent, vendorCalls: () => vendorCalls };
}

describe('EnrichmentProcessor', () => {
  it('reads the entity as the connector itself, sends the bundle as the applicant for the work, then marks it processed', async () => {
    const t = setup();
    expect(await t.processor.handle(message(), false)).toBe('ack');
    expect(t.calls[0]).toBe('received work-1');
    expect(t.calls[1]).toBe(`read ${ENTITY.standard_id} in {"draftId":null}`);
    expect(t.calls[2]).toMatch(/^processed work-1 ok: Enriched 8\.8\.8\.8: 2 objects sent/);
    expect(t.sent).toEqual([{ objects: 2, applicantId: 'user-7', workId: 'work-1' }]);
  });

  it("tells the enrichment whether the platform asked on its own: auto mode, never a user's nor a playbook's", async () => {
    const seen: boolean[] = [];
    const t = setup({
      enrich: async (_entity, ctx) => {
        seen.push(ctx.auto);
        return {};
      },
    });
    const withMode = (mode: string | undefined, playbook = false) => {
      const body = JSON.parse(message().toString());
      if (mode !== undefined) body.internal.mode = mode;
      if (playbook) {
        body.internal.work_id = null;
        body.internal.playbook = {
          event_id: 'e',
          execution_id: 'x',
          playbook_id: 'p',
          data_instance_id: ENTITY.standard_id,
          step_id: 's',
        };
        body.event.bundle = { objects: [] };
      }
      return Buffer.from(JSON.stringify(body));
    };
    for (const body of [withMode('auto'), withMode('manual'), withMode(undefined), withMode('auto', true)]) {
      await t.processor.handle(body, false);
    }
    expect(seen).toEqual([true, false, false, false]);
  });

  it('uses the connector user as applicant when the message names none', async () => {
    const t = setup();
    const body = JSON.parse(message().toString());
    body.internal.applicant_id = null;
    await t.processor.handle(Buffer.from(JSON.stringify(body)), false);
    expect(t.sent[0]?.applicantId).toBe('connector-user');
  });

  it('ends the work in error on a vendor failure and acks', async () => {
    const t = setup({
      enrich: async () => {
        throw new UpstreamApiError('Vendor answered 503 after 4 attempts', {
          vendor: 'V',
          status: 503,
          retryable: true,
        });
      },
    });
    expect(await t.processor.handle(message(), false)).toBe('ack');
    expect(t.calls.at(-1)).toBe('processed work-1 error: Vendor answered 503 after 4 attempts');
  });

  it('keeps requeueing while the platform is unreachable, and never gives up on an outage', async () => {
    let fail = true;
    const t = setup({
      platform: {
        workToProcessed: async () => {
          if (fail) throw new PlatformError('OpenCTI unreachable', { operation: 'workToProcessed', retryable: true });
        },
      },
    });
    expect(await t.processor.handle(message(), false)).toBe('requeue');
    expect(await t.processor.handle(message(), true)).toBe('requeue');
    expect(await t.processor.handle(message(), true)).toBe('requeue');
    fail = false;
    expect(await t.processor.handle(message(), true)).toBe('ack');
  });

  it('waits before putting an outage message back: 1 s, doubling each time, never more than 30 s', async () => {
    const stream = new PassThrough();
    const waits: number[] = [];
    stream.on('data', (b: Buffer) => {
      for (const line of b.toString().split('\n').filter(Boolean)) {
        const retryInMs = (JSON.parse(line) as { attributes?: { retryInMs?: number } }).attributes?.retryInMs;
        if (retryInMs !== undefined) waits.push(retryInMs);
      }
    });
    const stop = new AbortController();
    const t = setup({
      platform: {
        workToProcessed: async () => {
          throw new PlatformError('OpenCTI unreachable', { operation: 'workToProcessed', retryable: true });
        },
      },
      options: {
        logger: createLogger({ name: 'test', level: 'warn', destination: stream }),
        shutdown: stop.signal,
        outageBackoffMs: undefined,
      },
    });
    // Each delivery (its own work) fails while the earlier ones still wait; the waits are logged as they start.
    const handled = [];
    for (let i = 1; i <= 8; i++) {
      const body = JSON.parse(message().toString());
      body.internal.work_id = `work-${i}`;
      handled.push(t.processor.handle(Buffer.from(JSON.stringify(body)), false));
      await vi.waitFor(() => expect(waits).toHaveLength(i));
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    stop.abort();
    expect(await Promise.all(handled)).toEqual(Array(8).fill('requeue'));
  });

  it('requeues once on a failure that is not an outage, then reports and acks the redelivery', async () => {
    const reports: string[] = [];
    const t = setup({
      platform: {
        workToProcessed: async (_w, m, e) => {
          reports.push(`${e ? 'error' : 'ok'}: ${m}`);
          if (!e) throw new PlatformError('validation failed', { operation: 'workToProcessed', retryable: false });
        },
      },
    });
    expect(await t.processor.handle(message(), false)).toBe('requeue');
    expect(await t.processor.handle(message(), true)).toBe('ack');
    expect(reports.at(-1)).toBe('error: validation failed');
  });

  it('tells a message whose outcome keeps failing from an outage by asking the platform: requeued once, then reported and acked', async () => {
    const reports: string[] = [];
    const t = setup({
      platform: {
        workStatus: async () => ({ status: 'progress', processedTime: null }),
        workToProcessed: async (_w, m, e) => {
          reports.push(`${e ? 'error' : 'ok'}: ${m}`);
          throw new PlatformError('the connection to OpenCTI failed', {
            operation: 'workToProcessed',
            retryable: true,
          });
        },
      },
    });
    expect(await t.processor.handle(message(), false)).toBe('requeue');
    expect(await t.processor.handle(message(), true)).toBe('ack');
    expect(t.vendorCalls()).toBe(2);
    expect(reports.at(-1)).toBe('error: the connection to OpenCTI failed');
  });

  it('keeps a message the broker cannot take, redelivery after redelivery, even while OpenCTI answers', async () => {
    const t = setup({
      platform: { workStatus: async () => ({ status: 'progress', processedTime: null }) },
      sink: {
        send: async () => {
          throw new PlatformError('RabbitMQ did not accept a message', { operation: 'amqp', retryable: true });
        },
      },
    });
    expect(await t.processor.handle(message(), false)).toBe('requeue');
    expect(await t.processor.handle(message(), true)).toBe('requeue');
    expect(await t.processor.handle(message(), true)).toBe('requeue');
  });

  it('requeues when the broker cannot take the bundle', async () => {
    const t = setup({
      sink: {
        send: async () => {
          throw new PlatformError('publish failed', { operation: 'amqp', retryable: true });
        },
      },
    });
    expect(await t.processor.handle(message(), false)).toBe('requeue');
  });

  it('gates on the TLP before the handler: no vendor call above the maximum', async () => {
    const t = setup({
      platform: {
        readEntity: async () => ({
          ...ENTITY,
          objectMarking: [{ standard_id: TLP_MARKING_IDS['TLP:RED'], definition_type: 'TLP', definition: 'TLP:RED' }],
        }),
      },
    });
    expect(await t.processor.handle(message(), false)).toBe('ack');
    expect(t.vendorCalls()).toBe(0);
    expect(t.calls.at(-1)).toMatch(/processed work-1 error: .*TLP:RED.*TLP:AMBER/);
  });

  it('treats the highest of several TLP markings as the entity TLP', async () => {
    const t = setup({
      platform: {
        readEntity: async () => ({
          ...ENTITY,
          objectMarking: [
            {
              standard_id: TLP_MARKING_IDS['TLP:AMBER+STRICT'],
              definition_type: 'TLP',
              definition: 'TLP:AMBER+STRICT',
            },
            { standard_id: TLP_MARKING_IDS['TLP:CLEAR'], definition_type: 'TLP', definition: 'TLP:CLEAR' },
          ],
        }),
      },
    });
    await t.processor.handle(message(), false);
    expect(t.vendorCalls()).toBe(0);
  });

  it('reports an entity the connector cannot read', async () => {
    const t = setup({ platform: { readEntity: async () => null } });
    expect(await t.processor.handle(message(), false)).toBe('ack');
    expect(t.calls.at(-1)).toMatch(/processed work-1 error: Unable to read the entity/);
  });

  it('answers a failed playbook step with the unchanged bundle', async () => {
    const t = setup({
      enrich: async () => {
        throw new Error('boom');
      },
    });
    const body = {
      internal: {
        work_id: null,
        applicant_id: 'auto',
        playbook: {
          event_id: 'e',
          execution_id: 'x',
          playbook_id: 'p',
          data_instance_id: ENTITY.standard_id,
          step_id: 's1',
          previous_step_id: 's0',
        },
      },
      event: {
        entity_id: ENTITY.standard_id,
        bundle: {
          type: 'bundle',
          id: 'bundle--1',
          objects: [{ type: 'ipv4-addr', id: ENTITY.standard_id, value: '8.8.8.8' }],
        },
      },
    };
    expect(await t.processor.handle(Buffer.from(JSON.stringify(body)), false)).toBe('ack');
    expect(t.calls).toContain('playbook s1 1');
    expect(t.sent).toEqual([]);
  });

  it('acknowledges a redelivered message whose work is already processed, without running it again', async () => {
    const t = setup({
      platform: { workStatus: async () => ({ status: 'complete', processedTime: '2026-01-01T00:00:00.000Z' }) },
    });
    expect(await t.processor.handle(message(), true)).toBe('ack');
    expect(t.vendorCalls()).toBe(0);
    expect(t.calls).toEqual([]);
    // A first delivery is never checked: it runs.
    expect(await t.processor.handle(message(), false)).toBe('ack');
    expect(t.vendorCalls()).toBe(1);
  });

  it('processes a redelivered message whose work is not processed yet', async () => {
    const t = setup({ platform: { workStatus: async () => ({ status: 'progress', processedTime: null }) } });
    expect(await t.processor.handle(message(), true)).toBe('ack');
    expect(t.vendorCalls()).toBe(1);
  });

  it('does not run a redelivered message while its first run is still in progress here', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let processed: string | null = null;
    let recording = false;
    const t = setup({
      platform: {
        workToProcessed: async (_w, m) => {
          recording = true;
          await held;
          processed = m;
        },
        workStatus: async () => (processed ? { status: 'complete', processedTime: '2026-01-01T00:00:00.000Z' } : null),
      },
    });
    const first = t.processor.handle(message(), false);
    // The first run is recording its outcome (a state, not a delay that a loaded machine may outlast).
    await vi.waitFor(() => expect(recording).toBe(true));
    const second = t.processor.handle(message(), true); // the channel closed before the first ack
    release();
    expect(await first).toBe('ack');
    expect(await second).toBe('ack');
    expect(t.vendorCalls()).toBe(1);
  });
});
