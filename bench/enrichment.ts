/**
 * Enrichment throughput and latency through the real broker and the stand-in platform, with a
 * zero-latency vendor, against a raw amqplib loop measured in the same run.
 *   sdk  the connector daemon in its own process, as deployed: compiled JS (the SDK's dist, built first
 *        with tsc -b; the one-file fixture runs through Node's type stripping, no tsx), at a given prefetch.
 *        Throughput: N listen messages queued first, then handled end to end (work received + entity read,
 *        handler, split + expectations + confirmed publish, work processed, ack). Latency: a closed loop of
 *        single messages, from the platform publishing the message to the work processed.
 *   fair amqplib and fetch alone, at the same prefetch, against the same stand-in platform and broker: a
 *        connector registered like the daemon, its listen queue filled by the platform the same way; per
 *        message JSON.parse, the same platform calls as the daemon makes for it (the GraphQL documents and
 *        variables the SDK sent for its own works, recorded by the stand-in and replayed with this work's
 *        ids: work received together with the entity read, then expectations, then the same three confirmed
 *        publishes to the push exchange, then work processed), then ack. What the SDK adds over it is its
 *        own cost: validation, TLP gate, the handler, STIX building and splitting, logging, metrics.
 *   raw  amqplib alone at the same prefetch: consume messages of the same size, publish the same number
 *        of equally sized messages per message with confirms, then ack; no platform calls (the broker's
 *        limit, not a fair comparison for an enrichment: it hides the protocol's platform round trips).
 * Where the time goes: the daemon's metrics give the time spent waiting on platform calls and on broker
 * confirms; an enrichment waits on the platform three times in a row (work received together with the
 * entity read, expectations, work processed), so their quotient is the cost of one platform round trip.
 * The latency loop's timeline, taken at the stand-in platform, splits each enrichment into its legs.
 * The daemon and the fair loop run side by side and are measured in turns (a warm-up each, then ROUNDS
 * bursts each, alternating, then latency samples alternating), so that both see the same machine. Each
 * process's CPU time over the rounds (/proc, Linux) gives its CPU per enrichment: on a shared machine the
 * throughput of a burst moves with the neighbours' load, what a process spends per message much less.
 * Usage: tsx bench/enrichment.ts <messages> <prefetch>  — prints one JSON line.
 * Node flags for the daemon come from BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), for
 * the fair loop from BENCH_FAIR_NODE_ARGS (to profile both alike).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  assembleBundle,
  buildAuthor,
  buildIndicator,
  buildPushMessage,
  OpenCtiClient,
  splitBundle,
} from '@cti/connector-sdk/internal';
import { startTestPlatform, type TestPlatform, waitUntil } from '@cti/connector-testkit';
import amqp from 'amqplib';
import type { FairCall, FairPlan } from './fixtures/fair-enrichment-loop.js';
import { AMQP_URL, percentile, round } from './lib.js';

const messages = Number(process.argv[2] ?? 300);
const prefetch = Number(process.argv[3] ?? 1);
const LATENCY_SAMPLES = 100;
/** Enrichments each side handles before anything is measured (JIT, connections). */
const WARMUP = 30;
/** Bursts per side, taken in turns: the throughput is the median, the ratio the median of each round's. */
const ROUNDS = 5;
const fixture = fileURLToPath(new URL('./fixtures/zero-latency-connector.ts', import.meta.url));
const fairLoop = fileURLToPath(new URL('./fixtures/fair-enrichment-loop.ts', import.meta.url));
const root = fileURLToPath(new URL('../', import.meta.url));
/** Platform waits per enrichment: work received with the entity read, expectations, work processed. */
const PLATFORM_WAITS = 3;
/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * CPU seconds (user + system) a child process has used so far, from /proc/<pid>/stat. Unlike throughput,
 * which the other processes sharing the machine move from one burst to the next, it is what the process
 * itself spends, so the SDK's own cost per enrichment shows against the fair loop's.
 */
function cpuSeconds(child: ChildProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: the fields after it start past its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The daemon runs the SDK's compiled JS, as deployed: build it (incremental) so it matches the source. */
function buildSdk(): void {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const built = spawnSync(process.execPath, [tsc, '-b', 'packages/connector-sdk'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('tsc -b packages/connector-sdk failed: the daemon needs the compiled SDK');
}

function spawnDaemon(platform: TestPlatform, connectorId: string, metricsPort: number): ChildProcess {
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  // No --conditions=@cti/source and no tsx: @cti/connector-sdk resolves to its dist.
  return spawn(process.execPath, [...nodeArgs, fixture], {
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

/** Registers a connector as the daemon does (the platform creates its queues); its queue configuration. */
async function register(platform: TestPlatform, connectorId: string) {
  const client = new OpenCtiClient({ url: platform.url, token: platform.token, userAgent: 'bench' });
  return client.registerConnector({
    id: connectorId,
    name: 'BenchEcho',
    type: 'INTERNAL_ENRICHMENT',
    scope: ['IPv4-Addr'],
    auto: false,
    only_contextual: false,
    playbook_compatible: false,
  });
}

/** Asks the platform to enrich a new IPv4 address (the `i`th of a run, `net` tells the runs apart). */
async function ask(platform: TestPlatform, connectorId: string, net: number, i: number): Promise<string> {
  const e = platform.addEntity({ entity_type: 'IPv4-Addr', value: `10.${net}.${(i >> 8) & 255}.${i & 255}` });
  return platform.askEnrichment(connectorId, e.standard_id);
}

/** Throughput from the platform's own clock: first work received to last work processed. */
function burstSeconds(platform: TestPlatform, burst: readonly string[]): number {
  const received = burst.map((w) => Date.parse(platform.work(w)?.received_time ?? ''));
  const processed = burst.map((w) => Date.parse(platform.work(w)?.processed_time ?? ''));
  return (Math.max(...processed) - Math.min(...received)) / 1000;
}

async function waitProcessed(platform: TestPlatform, burst: readonly string[]): Promise<void> {
  // Progress is checked from the first work not yet processed on: a snapshot of every work every 25 ms
  // cost the platform's process more CPU than answering the daemon.
  let pending = 0;
  await waitUntil(
    () => {
      while (pending < burst.length && platform.work(burst[pending] as string)?.processed_time) pending++;
      return pending === burst.length;
    },
    { timeoutMs: 600_000 },
  );
}

/**
 * The legs of each latency sample, from when the platform's requests arrived (millisecond clock of the
 * stand-in): t0 → work received (listen delivery, decoding, the request sent), → expectations (the
 * received/read round trip, the handler, splitting), → work processed (the expectations round trip, the
 * confirmed publish). Medians and 99th percentiles.
 */
function timelineOf(platform: TestPlatform, samples: ReadonlyArray<{ workId: string; t0: number }>) {
  const arrivals = new Map<string, Map<string, number>>();
  for (const r of platform.requests((q) => q.rootFields.includes('workEdit'))) {
    const id = String(r.variables.id);
    const byOp = arrivals.get(id) ?? new Map<string, number>();
    if (!byOp.has(r.operationName ?? '')) byOp.set(r.operationName ?? '', Date.parse(r.at));
    arrivals.set(id, byOp);
  }
  const legs = { toReceived: [] as number[], toExpectations: [] as number[], toProcessed: [] as number[] };
  for (const { workId, t0 } of samples) {
    const at = arrivals.get(workId);
    const received = at?.get('workToReceived');
    const expectations = at?.get('addExpectations');
    const processed = at?.get('workToProcessed');
    if (received === undefined || expectations === undefined || processed === undefined) continue;
    legs.toReceived.push(received - t0);
    legs.toExpectations.push(expectations - received);
    legs.toProcessed.push(processed - expectations);
  }
  const summary = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });
  return {
    toReceived: summary(legs.toReceived),
    toExpectations: summary(legs.toExpectations),
    toProcessed: summary(legs.toProcessed),
  };
}

/** One platform call of an SDK enrichment, as the stand-in recorded it: replayed by the fair loop. */
type RecordedCall = FairCall;

/**
 * The platform calls and push messages the daemon made for one of its works, in order: work received and
 * the entity read (sent together), expectations, then the push messages, then work processed.
 */
function recordedCalls(platform: TestPlatform, workId: string) {
  const work = platform.work(workId);
  const listen = platform.listenMessages().find((m) => m.workId === workId);
  const entity = listen ? (JSON.parse(listen.body) as { event: { entity_id: string } }).event.entity_id : '';
  const calls: RecordedCall[] = platform
    .requests((r) => {
      const vars = JSON.stringify(r.variables);
      return vars.includes(workId) || (entity !== '' && vars.includes(entity));
    })
    .map((r) => ({
      operationName: r.operationName,
      query: r.query,
      variables: JSON.stringify(r.variables).replaceAll(workId, '$WORK').replaceAll(entity, '$ENTITY'),
      headers: {
        ...(r.headers.applicantId !== undefined ? { 'opencti-applicant-id': r.headers.applicantId } : {}),
        ...(r.headers.draftId !== undefined ? { 'opencti-draft-id': r.headers.draftId } : {}),
      },
    }));
  const pushes = platform
    .pushMessages()
    .filter((m) => m.envelope?.work_id === workId)
    .map((m) => ({
      body: JSON.stringify(m.envelope).replaceAll(workId, '$WORK'),
      properties: Object.fromEntries(Object.entries(m.properties).filter(([, v]) => v !== undefined)),
    }));
  if (work === undefined || calls.length === 0 || pushes.length === 0)
    throw new Error(`no recorded calls or push messages for the SDK's work ${workId}`);
  return { calls, pushes };
}

/** Starts the fair loop (bench/fixtures/fair-enrichment-loop.ts) on a connector registered like the daemon. */
async function startFairLoop(platform: TestPlatform, recorded: ReturnType<typeof recordedCalls>) {
  const connectorId = randomUUID();
  const registered = await register(platform, connectorId);
  const find = (name: string) => recorded.calls.find((c) => c.operationName === name);
  const received = find('workToReceived');
  const expectations = find('addExpectations');
  const processed = find('workToProcessed');
  const reads = recorded.calls.filter((c) => c !== received && c !== expectations && c !== processed);
  if (!received || !expectations || !processed || reads.length === 0)
    throw new Error(`unexpected platform calls: ${recorded.calls.map((c) => c.operationName).join(', ')}`);
  const plan: FairPlan = {
    listen: registered.config.listen,
    exchange: registered.config.push_exchange,
    routingKey: registered.config.push_routing,
    first: [received, ...reads],
    expectations,
    pushes: recorded.pushes,
    processed,
  };
  const nodeArgs = (process.env.BENCH_FAIR_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const loop = spawn(process.execPath, [...nodeArgs, fairLoop], {
    env: {
      PATH: process.env.PATH,
      AMQP_URL,
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      PREFETCH: String(prefetch),
      FAIR_PLAN: JSON.stringify(plan),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { connectorId, loop, calls: [...plan.first, plan.expectations, plan.processed].map((c) => c.operationName) };
}

interface Side {
  connectorId: string;
  /** Second octet of the side's addresses, and how many it asked for so far. */
  net: number;
  asked: number;
  rates: number[];
  /** CPU seconds the side's process used during the measured bursts (both sides' bursts: see pairedRun). */
  cpu: number;
  latencies: number[];
  samples: Array<{ workId: string; t0: number }>;
}

/** Asks `n` enrichments of one side at once and waits until every work is processed; their works. */
async function burst(platform: TestPlatform, side: Side, n: number): Promise<string[]> {
  const from = side.asked;
  side.asked += n;
  const works = await Promise.all(
    Array.from({ length: n }, (_, i) => ask(platform, side.connectorId, side.net, from + i)),
  );
  await waitProcessed(platform, works);
  return works;
}

async function latencySample(platform: TestPlatform, side: Side): Promise<void> {
  const t0 = Date.now();
  const w = await ask(platform, side.connectorId, side.net, side.asked++);
  await waitUntil(() => Boolean(platform.work(w)?.processed_time), { timeoutMs: 30_000 });
  side.latencies.push(Date.parse(platform.work(w)?.processed_time ?? '') - t0);
  side.samples.push({ workId: w, t0 });
}

/**
 * The daemon and the fair loop side by side, in turns, so that both see the same machine: a warm-up for
 * each (the daemon's first, whose platform calls the stand-in records for the fair loop), then ROUNDS
 * rounds of a burst each (the order alternating), then latency samples taken in alternation.
 */
async function pairedRun(platform: TestPlatform) {
  const sdk: Side = { connectorId: randomUUID(), net: 77, asked: 0, rates: [], cpu: 0, latencies: [], samples: [] };
  await register(platform, sdk.connectorId);
  const metricsPort = 20000 + Math.floor(Math.random() * 20000);
  const daemon = spawnDaemon(platform, sdk.connectorId, metricsPort);
  const warm = await burst(platform, sdk, WARMUP);
  const recorded = recordedCalls(platform, warm[0] as string);
  const started = await startFairLoop(platform, recorded);
  const fair: Side = {
    connectorId: started.connectorId,
    net: 78,
    asked: 0,
    rates: [],
    cpu: 0,
    latencies: [],
    samples: [],
  };
  await burst(platform, fair, WARMUP);
  const perRound = Math.ceil(messages / ROUNDS);
  // Each process's CPU over all the rounds: what it spends while the other side's burst runs (timers,
  // heartbeats) is counted too, and is small next to an enrichment's.
  const cpuBefore = { sdk: cpuSeconds(daemon), fair: cpuSeconds(started.loop) };
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of r % 2 === 0 ? [sdk, fair] : [fair, sdk]) {
      side.rates.push(perRound / burstSeconds(platform, await burst(platform, side, perRound)));
    }
  }
  sdk.cpu = cpuSeconds(daemon) - cpuBefore.sdk;
  fair.cpu = cpuSeconds(started.loop) - cpuBefore.fair;
  const cpuMsPerEnrichment = (side: Side) => (side.cpu / (perRound * ROUNDS)) * 1000;
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    for (const side of i % 2 === 0 ? [sdk, fair] : [fair, sdk]) await latencySample(platform, side);
  }
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const handled = metric('enrichment_seconds_total');
  const enrichments = sdk.asked;
  for (const child of [daemon, started.loop]) {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
  const summary = (side: Side) => ({
    perSecond: percentile(side.rates, 50),
    rounds: side.rates.map((x) => round(x)),
    cpuMsPerEnrichment: cpuMsPerEnrichment(side),
    p50Ms: percentile(side.latencies, 50),
    p99Ms: percentile(side.latencies, 99),
  });
  return {
    sdk: {
      ...summary(sdk),
      platformShare: metric('platform_wait_seconds_total') / handled,
      brokerShare: metric('broker_wait_seconds_total') / handled,
      msPerEnrichment: (handled / enrichments) * 1000,
      platformCallMs: (metric('platform_wait_seconds_total') / (enrichments * PLATFORM_WAITS)) * 1000,
      brokerMsPerEnrichment: (metric('broker_wait_seconds_total') / enrichments) * 1000,
      timeline: timelineOf(platform, sdk.samples),
    },
    fair: { ...summary(fair), calls: started.calls, publishes: recorded.pushes.length },
    /** The median of each round's SDK / fair: each pair measured back to back. */
    ratio: percentile(
      sdk.rates.map((x, i) => x / (fair.rates[i] as number)),
      50,
    ),
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

buildSdk();
const platform = await startTestPlatform();
const { sdk, fair, ratio } = await pairedRun(platform);
await platform.close();
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
      rounds: sdk.rounds,
      cpuMsPerEnrichment: round(sdk.cpuMsPerEnrichment, 2),
      p50Ms: sdk.p50Ms,
      p99Ms: sdk.p99Ms,
      platformShare: round(sdk.platformShare, 3),
      brokerShare: round(sdk.brokerShare, 3),
      msPerEnrichment: round(sdk.msPerEnrichment, 2),
      platformCallMs: round(sdk.platformCallMs, 2),
      brokerMsPerEnrichment: round(sdk.brokerMsPerEnrichment, 2),
      timeline: sdk.timeline,
    },
    fair: {
      perSecond: round(fair.perSecond),
      rounds: fair.rounds,
      cpuMsPerEnrichment: round(fair.cpuMsPerEnrichment, 2),
      p50Ms: fair.p50Ms,
      p99Ms: fair.p99Ms,
      calls: fair.calls,
      publishes: fair.publishes,
    },
    fairThroughputRatio: round(ratio, 3),
    /** The daemon's CPU per enrichment over the fair loop's, over the same rounds. */
    fairCpuRatio: round(sdk.cpuMsPerEnrichment / fair.cpuMsPerEnrichment, 3),
    fairAddedP99Ms: sdk.p99Ms - fair.p99Ms,
    raw: { perSecond: round(raw.perSecond), p50Ms: raw.p50Ms, p99Ms: raw.p99Ms },
    throughputRatio: round(sdk.perSecond / raw.perSecond, 3),
    addedP99Ms: sdk.p99Ms - raw.p99Ms,
  })}\n`,
);
process.exit(0);
