import { describe, expect, it } from 'vitest';
import { PlatformError } from '../errors/index.js';
import { assembleBundle, buildAuthor, buildObservable, type StixBundle, splitBundle } from '../stix/index.js';
import { Metrics } from './metrics.js';
import { AmqpBundleSink, StdoutBundleSink } from './sinks.js';

const author = buildAuthor('Sink Test Org');
const bundle: StixBundle = assembleBundle({
  author,
  objects: Array.from({ length: 10 }, (_, i) => buildObservable('ipv4-addr', { value: `10.0.0.${i}` }, { author })),
});
const META = { workId: 'work-1', applicantId: 'user-1', draftId: null, update: false };

interface Published {
  bodies: Buffer[];
  confirm(): void;
  fail(err: Error): void;
}

/** A publisher whose confirms the test gives, batch by batch, and a platform that records expectations. */
function harness() {
  const calls: string[] = [];
  const batches: Published[] = [];
  const publisher = {
    publish(bodies: readonly Buffer[]): Promise<void> {
      calls.push(`publish ${bodies.length}`);
      return new Promise<void>((resolve, reject) => {
        batches.push({ bodies: [...bodies], confirm: resolve, fail: reject });
      });
    },
  };
  const platform = {
    async workAddExpectations(workId: string, expectations: number): Promise<void> {
      calls.push(`expectations ${workId} ${expectations}`);
    },
  };
  const metrics = new Metrics();
  return { calls, batches, metrics, sink: new AmqpBundleSink(platform, publisher, metrics, 3) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const decode = (body: Buffer) => {
  const message = JSON.parse(body.toString('utf8')) as { action_sequence: number; content: string; work_id: string };
  const chunk = JSON.parse(Buffer.from(message.content, 'base64').toString('utf8')) as {
    objects: Array<{ id: string }>;
  };
  return { sequence: message.action_sequence, id: chunk.objects[0]?.id, workId: message.work_id };
};

describe('AmqpBundleSink', () => {
  it('publishes the split bundle in batches, in order, with action_sequence counting across batches', async () => {
    const h = harness();
    const sending = h.sink.send(bundle, META);
    await tick();
    const expected = splitBundle(bundle).chunks.map((c) => c.objects[0].id);
    // The author and ten observables: batches of 3, 3, 3 and 2.
    expect(expected).toHaveLength(11);
    // Expectations first, for every message of the bundle; then two batches in flight, not more.
    expect(h.calls).toEqual(['expectations work-1 11', 'publish 3', 'publish 3']);
    h.batches[0]?.confirm();
    await tick();
    expect(h.calls.slice(3)).toEqual(['publish 3']);
    h.batches[1]?.confirm();
    await tick();
    expect(h.calls.slice(4)).toEqual(['publish 2']);
    for (const batch of h.batches.slice(2)) batch.confirm();
    await expect(sending).resolves.toEqual({ objects: 11 });

    const sent = h.batches.flatMap((b) => b.bodies.map(decode));
    expect(sent.map((m) => m.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(sent.map((m) => m.id)).toEqual(expected);
    expect(sent.every((m) => m.workId === 'work-1')).toBe(true);
    expect(h.metrics.value('bundles_sent_total')).toBe(11);
  });

  it('does not resolve before the last batch is confirmed', async () => {
    const h = harness();
    let done = false;
    const sending = h.sink.send(bundle, META).then(() => {
      done = true;
    });
    for (let i = 0; i < 3; i++) {
      await tick();
      h.batches[i]?.confirm();
    }
    await tick();
    expect(done).toBe(false);
    h.batches[3]?.confirm();
    await sending;
    expect(done).toBe(true);
  });

  it('fails with the first failing batch and leaves no rejection unhandled', async () => {
    const h = harness();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const sending = h.sink.send(bundle, META);
      await tick();
      h.batches[1]?.fail(new PlatformError('second batch refused', { operation: 'amqp', retryable: true }));
      h.batches[0]?.fail(new PlatformError('first batch refused', { operation: 'amqp', retryable: true }));
      await expect(sending).rejects.toThrow('first batch refused');
      // Nothing after the failure is handed to the broker.
      expect(h.calls.filter((c) => c.startsWith('publish'))).toHaveLength(2);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('StdoutBundleSink', () => {
  it('waits for the writer before the next bundle (back-pressure) and counts what it wrote', async () => {
    const lines: string[] = [];
    let release: () => void = () => undefined;
    const sink = new StdoutBundleSink(
      (text) =>
        new Promise<void>((resolve) => {
          lines.push(text);
          release = resolve;
        }),
      true,
    );
    let done = false;
    const sending = sink.send(bundle).then(() => {
      done = true;
    });
    await tick();
    expect(done).toBe(false);
    release();
    await sending;
    expect(done).toBe(true);
    expect(sink.sent).toBe(1);
    expect(JSON.parse(lines[0] as string)).toEqual(bundle);
  });
});
