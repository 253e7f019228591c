import { describe, expect, it } from 'vitest';
import { BundleRefusedError, PlatformError } from '../errors/index.js';
import { assembleBundle, buildAuthor, buildObservable, type StixBundle, splitBundle } from '../stix/index.js';
import { Metrics } from './metrics.js';
import { AmqpBundleSink, StdoutBundleSink } from './sinks.js';

const author = buildAuthor('Sink Test Org');
const bundle: StixBundle = assembleBundle({
  author,
  objects: Array.from({ length: 10 }, (_, i) => buildObservable('ipv4-addr', { value: `10.0.0.${i}` }, { author })),
});
const META = { workId: 'work-1', applicantId: 'user-1', draftId: null, update: false };

/**
 * A publisher that reads the sink's bodies only when the test says (as the real one reads as the broker
 * confirms), and a platform that records expectations.
 */
function harness() {
  const calls: string[] = [];
  let iterator: Iterator<Buffer> | undefined;
  const read: Buffer[] = [];
  let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const publisher = {
    publish(bodies: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
      calls.push(`publish ${Array.isArray(bodies) ? 'array' : 'iterable'}`);
      iterator = (bodies as Iterable<Buffer>)[Symbol.iterator]();
      return new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
    },
  };
  const platform = {
    async workAddExpectations(workId: string, expectations: number): Promise<void> {
      calls.push(`expectations ${workId} ${expectations}`);
    },
  };
  /** Reads up to `n` more bodies; returns how many there were. */
  const take = (n: number): number => {
    let taken = 0;
    while (taken < n && iterator) {
      const step = iterator.next();
      if (step.done) break;
      read.push(step.value);
      taken += 1;
    }
    return taken;
  };
  const metrics = new Metrics();
  return {
    calls,
    read,
    take,
    confirm: () => settle?.resolve(),
    fail: (err: Error) => settle?.reject(err),
    metrics,
    sink: new AmqpBundleSink(platform, publisher, metrics),
  };
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
  it('adds the expectations, then hands the publisher the messages lazily, in split order, numbered from 1', async () => {
    const h = harness();
    const sending = h.sink.send(bundle, META);
    await tick();
    const expected = splitBundle(bundle).chunks.map((c) => c.objects[0].id);
    // The author and ten observables.
    expect(expected).toHaveLength(11);
    // Expectations first, for every message of the bundle; then one publish of an iterable, not an array.
    expect(h.calls).toEqual(['expectations work-1 11', 'publish iterable']);
    // Nothing is built until the publisher reads; each read builds the next message.
    expect(h.read).toHaveLength(0);
    expect(h.take(4)).toBe(4);
    expect(h.read.map(decode).map((m) => m.sequence)).toEqual([1, 2, 3, 4]);
    expect(h.take(100)).toBe(7);
    h.confirm();
    await expect(sending).resolves.toEqual({ objects: 11 });

    const sent = h.read.map(decode);
    expect(sent.map((m) => m.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(sent.map((m) => m.id)).toEqual(expected);
    expect(sent.every((m) => m.workId === 'work-1')).toBe(true);
    expect(h.metrics.value('bundles_sent_total')).toBe(11);
  });

  it('does not resolve before the publisher has every message confirmed', async () => {
    const h = harness();
    let done = false;
    const sending = h.sink.send(bundle, META).then(() => {
      done = true;
    });
    await tick();
    h.take(100);
    await tick();
    expect(done).toBe(false);
    h.confirm();
    await sending;
    expect(done).toBe(true);
  });

  it("fails with the publisher's error, counting nothing as sent", async () => {
    const h = harness();
    const sending = h.sink.send(bundle, META);
    await tick();
    h.take(2);
    h.fail(new PlatformError('refused', { operation: 'amqp', retryable: true }));
    await expect(sending).rejects.toThrow('refused');
    expect(h.metrics.value('bundles_sent_total')).toBe(0);
  });

  it('refuses a bundle with nothing OpenCTI accepts before adding expectations', async () => {
    const h = harness();
    const unsupported = {
      type: 'bundle',
      id: 'bundle--1',
      objects: [{ type: 'x-unknown', id: 'x-unknown--00000000-0000-4000-8000-000000000001' }],
    };
    await expect(h.sink.send(unsupported as unknown as StixBundle, META)).rejects.toThrow(/Nothing to import/);
    expect(h.calls).toEqual([]);
  });
});

describe('a bundle that cannot be sent is refused whole, before the expectations and the first message', () => {
  /** A vendor value nested `levels` deep, as JSON.parse gives it (it parses any depth). */
  const nested = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
  const withObject = (extra: Record<string, unknown>): StixBundle => {
    const observable = buildObservable('ipv4-addr', { value: '10.9.9.9' }, { author });
    return { ...bundle, objects: [...bundle.objects, { ...observable, ...extra }] } as StixBundle;
  };

  it.each([
    [
      'a value nested 100,000 levels deep',
      { x_vendor: nested(100_000) },
      /x_vendor\.a\.a\.a… \(100 levels\) is nested more than 100 levels deep/,
    ],
    ['a bigint', { x_count: 10n }, /x_count is a bigint, which JSON cannot carry/],
    ['a reference that is not a string', { created_by_ref: 42 }, /created_by_ref: a number is not a STIX id/],
  ])('%s: refused naming the object and the property, nothing sent', async (_name, extra, problem) => {
    const h = harness();
    const refused = await h.sink.send(withObject(extra), META).catch((e: unknown) => e);
    expect(BundleRefusedError.is(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/^The bundle cannot be sent, nothing of it was: ipv4-addr--/);
    expect((refused as Error).message).toMatch(problem);
    expect(h.calls).toEqual([]);
  });

  it("an object whose message would be over the publisher's limit: refused before any message", async () => {
    const h = harness();
    const limited = new AmqpBundleSink(
      { workAddExpectations: async () => void h.calls.push('expectations') },
      { publish: async () => void h.calls.push('publish'), maxMessageBytes: 64 * 1024 },
      h.metrics,
    );
    const refused = await limited.send(withObject({ description: 'x'.repeat(64 * 1024) }), META).catch((e) => e);
    expect(BundleRefusedError.is(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/ipv4-addr--\S+: its JSON is \d+ bytes, over the 47616-byte limit/);
    expect(h.calls).toEqual([]);
    // Just under the limit: sent.
    await limited.send(withObject({ description: 'x'.repeat(47_000) }), META);
    expect(h.calls).toEqual(['expectations', 'publish']);
  });

  it('the dry run sink refuses it too, instead of failing in JSON.stringify', async () => {
    const lines: string[] = [];
    const sink = new StdoutBundleSink((text) => void lines.push(text), true);
    await expect(sink.send(withObject({ x_vendor: nested(5_000) }))).rejects.toThrow(/nested more than 100 levels/);
    expect(lines).toEqual([]);
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
