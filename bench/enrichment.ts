/**
 * Enrichment throughput and latency through the real broker and the stand-in platform, with a
 * zero-latency vendor, against a raw amqplib loop measured in the same run.
 *   sdk  the connector daemon in its own process (as deployed) at a given prefetch. Throughput: N listen
 *        messages queued first, then handled end to end (work received, entity read, handler, split +
 *        expectations + confirmed publish, work processed, ack). Latency: a closed loop of single
 *        messages, from the platform publishing the message to the work processed.
 *   raw  amqplib alone at the same prefetch: consume messages of the same size, publish the same number
 *        of equally sized messages per message with confirms, then ack; no platform calls.
 * Usage: tsx bench/enrichment.ts <messages> <prefetch>  — prints one JSON line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { assembleBundle, buildAuthor, buildIndicator, OpenCtiClient, splitBundle } from '@cti/connector-sdk';
import { startTestPlatform, type TestPlatform, waitUntil } from '@cti/connector-testkit';
import amqp from 'amqplib';
import { buildPushMessage } from '../packages/connector-sdk/src/queue/index.js';
import { AMQP_URL, percentile, round } from './lib.js';

const messages = Number(process.argv[2] ?? 300);
const prefetch = Number(process.argv[3] ?? 1);
const LATENCY_SAMPLES = 100;
const fixture = fileURLToPath(new URL('./fixtures/zero-latency-connector.ts', import.meta.url));

function spawnDaemon(platform: TestPlatform, connectorId: string, metricsPort: number): ChildProcess {
  return spawn(process.execPath, ['--conditions=@cti/source', '--import', 'tsx', fixture], {
    env: {
      PATH: process.env.PATH,
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_ID: connectorId,
      CONNECTOR_LOG_LEVEL: 'warn',
      CONNECTOR_PREFETCH: String(prefetch),
      CONNECTOR_EXPOSE_METRICS: 'true',
      CONNECTOR_METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function sdkRun() {
  const platform = await startTestPlatform();
  const connectorId = randomUUID();
  // Register first (the platform creates the queues), queue the burst, then start the daemon.
  await new OpenCtiClient({ url: platform.url, token: platform.token, userAgent: 'bench' }).registerConnector({
    id: connectorId,
    name: 'BenchEcho',
    type: 'INTERNAL_ENRICHMENT',
    scope: ['IPv4-Addr'],
    auto: false,
    only_contextual: false,
    playbook_compatible: false,
  });
  const ask = async (i: number) => {
    const e = platform.addEntity({ entity_type: 'IPv4-Addr', value: `10.77.${(i >> 8) & 255}.${i & 255}` });
    return platform.askEnrichment(connectorId, e.standard_id);
  };
  const burst: string[] = [];
  for (let i = 0; i < messages; i++) burst.push(await ask(i));
  const metricsPort = 20000 + Math.floor(Math.random() * 20000);
  const daemon = spawnDaemon(platform, connectorId, metricsPort);
  await waitUntil(() => burst.every((w) => platform.work(w)?.processed_time), { timeoutMs: 600_000 });
  const received = burst.map((w) => Date.parse(platform.work(w)?.received_time ?? ''));
  const processed = burst.map((w) => Date.parse(platform.work(w)?.processed_time ?? ''));
  const seconds = (Math.max(...processed) - Math.min(...received)) / 1000;

  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const t0 = Date.now();
    const w = await ask(messages + i);
    await waitUntil(() => Boolean(platform.work(w)?.processed_time), { timeoutMs: 30_000 });
    latencies.push(Date.parse(platform.work(w)?.processed_time ?? '') - t0);
  }
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const handled = metric('enrichment_seconds_total');
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  await platform.close();
  return {
    perSecond: messages / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    platformShare: metric('platform_wait_seconds_total') / handled,
    brokerShare: metric('broker_wait_seconds_total') / handled,
  };
}

async function rawRun(objectsPerMessage: number, pushBody: Buffer, listenBytes: number) {
  const id = randomUUID();
  const listen = `bench-raw-listen-${id}`;
  const push = `bench-raw-push-${id}`;
  const conn = await amqp.connect(AMQP_URL, { noDelay: true });
  const admin = await conn.createConfirmChannel();
  await admin.assertQueue(listen, { durable: true });
  await admin.assertQueue(push, { durable: true });
  const pub = await conn.createConfirmChannel();
  const consumerConn = await amqp.connect(AMQP_URL, { noDelay: true });
  const consumer = await consumerConn.createChannel();
  await consumer.prefetch(prefetch);
  const doneAt = new Map<number, number>();
  const firstSeen: number[] = [];
  await consumer.consume(listen, (msg) => {
    if (!msg) return;
    firstSeen.push(Date.now());
    void (async () => {
      for (let i = 0; i < objectsPerMessage; i++)
        pub.publish('', push, pushBody, { deliveryMode: 2, contentEncoding: 'utf-8' });
      await pub.waitForConfirms();
      consumer.ack(msg);
      doneAt.set(Number(msg.properties.messageId), Date.now());
    })();
  });
  const body = Buffer.alloc(listenBytes, 'x');
  // Throughput: a burst, as for the SDK.
  for (let i = 0; i < messages; i++) admin.sendToQueue(listen, body, { persistent: true, messageId: String(i) });
  await admin.waitForConfirms();
  await waitUntil(() => doneAt.size >= messages, { timeoutMs: 600_000 });
  const seconds = (Math.max(...doneAt.values()) - Math.min(...firstSeen)) / 1000;
  // Latency: a closed loop of single messages.
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const key = messages + i;
    const t0 = Date.now();
    admin.sendToQueue(listen, body, { persistent: true, messageId: String(key) });
    await waitUntil(() => doneAt.has(key), { timeoutMs: 30_000 });
    latencies.push((doneAt.get(key) as number) - t0);
  }
  await admin.deleteQueue(listen);
  await admin.deleteQueue(push);
  await consumerConn.close();
  await conn.close();
  return { perSecond: messages / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

const sdk = await sdkRun();
// The raw loop publishes what one enrichment publishes: three messages (author, indicator, relationship).
const author = buildAuthor('Bench Vendor');
const sample = assembleBundle({
  objects: [buildIndicator({ pattern: "[ipv4-addr:value = '10.77.0.1']" }, { author, now: new Date().toISOString() })],
  author,
});
const pushBody = buildPushMessage(JSON.stringify(splitBundle(sample).chunks[1]), {
  applicantId: 'bench',
  workId: 'work-bench',
  draftId: null,
  update: false,
  actionSequence: 1,
});
const raw = await rawRun(3, pushBody, 700);
process.stdout.write(
  `${JSON.stringify({
    messages,
    prefetch,
    sdk: {
      perSecond: round(sdk.perSecond),
      p50Ms: sdk.p50Ms,
      p99Ms: sdk.p99Ms,
      platformShare: round(sdk.platformShare, 3),
      brokerShare: round(sdk.brokerShare, 3),
    },
    raw: { perSecond: round(raw.perSecond), p50Ms: raw.p50Ms, p99Ms: raw.p99Ms },
    throughputRatio: round(sdk.perSecond / raw.perSecond, 3),
    addedP99Ms: sdk.p99Ms - raw.p99Ms,
  })}\n`,
);
process.exit(0);
