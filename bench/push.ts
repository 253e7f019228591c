/**
 * Bundle push: split and publish bundles of N objects, confirmed by the broker, three ways in one run:
 *   sdk        the daemon's own path, AmqpBundleSink.send: splitBundleLazily, workAddExpectations (a stand-in
 *              that answers at once), each push message built as BundlePublisher reads it (pipelined
 *              confirms, at most `window` unconfirmed messages, so at most that many built at once)
 *   raw        a plain amqplib confirm channel publishing the same serialised messages pipelined (the limit)
 *   sequential the same messages, waiting for each confirm in turn, as pycti does (the anchor)
 *   publisher  the SDK's BundlePublisher given the raw baselines' ready-made messages: what the publisher
 *              itself costs, apart from building the messages (split, serialise, base64, envelope)
 *
 * Every mode publishes on an open connection, as a running daemon does: the SDK's session is connected
 * and its publishing channel opened (by a one-object warm-up bundle) before the timer starts, as the raw
 * baselines' connection and confirm channel are. The SDK's time includes splitting and serialising; the
 * baselines are given every message ready-made (split and serialised before their timer starts), so they
 * hold all of them in memory at once, as the SDK did before it streamed.
 *
 * Each case reports its peak RSS (VmHWM) and `bundleRssMb`, the peak once the input bundle is built and
 * before anything is split: the part of the peak that is the benchmark's own input, the same in every mode.
 * Usage: tsx bench/push.ts <objects> <mode>  — prints one JSON line; bench/run.ts runs each in its own
 * process so that peak RSS belongs to that case alone.
 */
import { randomUUID } from 'node:crypto';
import {
  AmqpBundleSink,
  AmqpSession,
  amqpOptionsFromUrl,
  assembleBundle,
  BundlePublisher,
  buildAuthor,
  buildObservable,
  buildPushMessage,
  Metrics,
  splitBundle,
  TLP_MARKING_IDS,
} from '@cti/connector-sdk/internal';
import amqp from 'amqplib';
import { AMQP_URL, peakRssMb } from './lib.js';

const objects = Number(process.argv[2] ?? 1000);
const mode = process.argv[3] ?? 'sdk';
/** pycti's sequential publishing is ~100x slower: it is measured on at most this many messages. */
const SEQUENTIAL_CAP = 5_000;

function bundleOf(n: number) {
  const author = buildAuthor('Bench Org');
  const list = [];
  for (let i = 0; i < n - 2; i++) {
    list.push(
      buildObservable(
        'ipv4-addr',
        { value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
        { author, markings: [TLP_MARKING_IDS['TLP:AMBER']] },
      ),
    );
  }
  return assembleBundle({ objects: list, author });
}

async function main(): Promise<void> {
  const exchange = `bench-push-${randomUUID()}`;
  const queue = `${exchange}-q`;
  const admin = await amqp.connect(AMQP_URL);
  const adminCh = await admin.createChannel();
  await adminCh.assertExchange(exchange, 'direct', { durable: false, autoDelete: false });
  await adminCh.assertQueue(queue, { durable: true });
  await adminCh.bindQueue(queue, exchange, 'push');

  const bundle = bundleOf(objects);
  const bundleRssMb = peakRssMb();
  let messages = 0;
  try {
    if (mode === 'sdk') {
      const session = new AmqpSession({ ...amqpOptionsFromUrl(AMQP_URL), connectionName: 'bench sdk push' });
      await session.connect();
      const publisher = new BundlePublisher(session, { exchange, routingKey: 'push' });
      const sink = new AmqpBundleSink({ workAddExpectations: async () => undefined }, publisher, new Metrics());
      const meta = { applicantId: 'bench', workId: 'work-bench', draftId: null, update: false };
      await sink.send(assembleBundle({ objects: [buildAuthor('Warm-up Org')] }), meta);
      const started = performance.now();
      messages = (await sink.send(bundle, meta)).objects;
      const seconds = (performance.now() - started) / 1000;
      await publisher.close();
      await session.close();
      process.stdout.write(
        `${JSON.stringify({ mode, objects, messages, seconds, perSecond: messages / seconds, peakRssMb: peakRssMb(), bundleRssMb })}\n`,
      );
    } else {
      // The raw baselines publish the very messages the SDK would, serialised up front.
      const { chunks } = splitBundle(bundle);
      const bodies = chunks.map((chunk, i) =>
        buildPushMessage(JSON.stringify(chunk), {
          applicantId: 'bench',
          workId: 'work-bench',
          draftId: null,
          update: false,
          actionSequence: i + 1,
        }),
      );
      if (mode === 'publisher') {
        const session = new AmqpSession({ ...amqpOptionsFromUrl(AMQP_URL), connectionName: 'bench publisher push' });
        await session.connect();
        const publisher = new BundlePublisher(session, { exchange, routingKey: 'push' });
        await publisher.publish([Buffer.from('warm-up')]);
        const started = performance.now();
        await publisher.publish(bodies);
        const seconds = (performance.now() - started) / 1000;
        await publisher.close();
        await session.close();
        messages = bodies.length;
        process.stdout.write(
          `${JSON.stringify({ mode, objects, messages, seconds, perSecond: messages / seconds, peakRssMb: peakRssMb(), bundleRssMb })}\n`,
        );
        return;
      }
      const conn = await amqp.connect(AMQP_URL, { noDelay: true });
      const ch = await conn.createConfirmChannel();
      const t0 = performance.now();
      if (mode === 'raw') {
        for (const body of bodies) {
          if (!ch.publish(exchange, 'push', body, { deliveryMode: 2, contentEncoding: 'utf-8' })) {
            await new Promise((r) => ch.once('drain', r));
          }
        }
        await ch.waitForConfirms();
        messages = bodies.length;
      } else {
        const n = Math.min(bodies.length, SEQUENTIAL_CAP);
        for (let i = 0; i < n; i++) {
          await new Promise<void>((resolve, reject) =>
            ch.publish(exchange, 'push', bodies[i] as Buffer, { deliveryMode: 2, contentEncoding: 'utf-8' }, (err) =>
              err ? reject(err) : resolve(),
            ),
          );
        }
        messages = n;
      }
      const seconds = (performance.now() - t0) / 1000;
      await conn.close();
      process.stdout.write(
        `${JSON.stringify({ mode, objects, messages, seconds, perSecond: messages / seconds, peakRssMb: peakRssMb(), bundleRssMb })}\n`,
      );
    }
  } finally {
    await adminCh.deleteQueue(queue).catch(() => undefined);
    await adminCh.deleteExchange(exchange).catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

await main();
process.exit(0);
