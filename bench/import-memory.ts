/**
 * Import memory: the SpyCloud connector's compiled entry over N breach records served by a local fake in
 * pages of 1,000, as SpyCloud pages them. Peak RSS (VmHWM, sampled) shows whether the run streams; the time
 * per page in the last tenth against the first tenth shows whether the cost per record stays flat as the run
 * grows. Records are the real fixture's, made unique per page.
 *
 * Modes:
 *   dry-run        `import --dry-run`, stdout drained by this process (the default)
 *   daemon         the daemon with CONNECTOR_RUN_AND_TERMINATE=true against the stand-in platform and the
 *                  real broker, the platform's worker consuming the push queue (it keeps what it ingests in
 *                  this process, so keep N to what this process can hold)
 *   daemon-queued  the same with the worker off: every message stays in the broker until the end (the
 *                  broker holds about 7 MB per 1,000 records), then the queues are deleted
 * The connector runs with the environment the image sets (NODE_ENV and NODE_OPTIONS, read from the last
 * stage of docker/Dockerfile), as it runs in production. For experiments, BENCH_NODE_OPTIONS replaces the
 * image's NODE_OPTIONS (empty: V8's defaults) and BENCH_NODE_ARGS adds flags on the command line.
 * Usage: tsx bench/import-memory.ts [records] [mode]  — prints one JSON line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type FakeRequest, startFakeVendor, startTestPlatform, type TestPlatform } from '@cti/connector-testkit';
import { imageEnvironment, peakRssMb, round } from './lib.js';

const records = Number(process.argv[2] ?? 100_000);
const mode = process.argv[3] ?? 'dry-run';
if (!['dry-run', 'daemon', 'daemon-queued'].includes(mode)) throw new Error(`unknown mode "${mode}"`);
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const imageEnv = imageEnvironment();
const imageNodeOptions = imageEnv.NODE_OPTIONS ?? '';
const nodeOptions = process.env.BENCH_NODE_OPTIONS ?? imageNodeOptions;
const PAGE = 1_000;
const pages = Math.ceil(records / PAGE);
const fixtures = fileURLToPath(new URL('../connectors/spycloud/test/fixtures/', import.meta.url));
const sample = JSON.parse(readFileSync(`${fixtures}breach-records.json`, 'utf8')) as {
  results: Array<Record<string, unknown>>;
};
const catalog = JSON.parse(readFileSync(`${fixtures}breach-catalog.json`, 'utf8'));

function page(n: number): Array<Record<string, unknown>> {
  const size = Math.min(PAGE, records - n * PAGE);
  return Array.from({ length: size }, (_, i) => {
    const base = sample.results[i % sample.results.length] as Record<string, unknown>;
    const k = n * PAGE + i;
    return {
      ...base,
      document_id: `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`,
      email: `user${k}@example.org`,
      username: `user${k}`,
    };
  });
}

const vendor = await startFakeVendor({
  'GET /breach/data/watchlist': (req: FakeRequest) => {
    const n = Number(req.query.get('cursor') ?? 0);
    return { body: { cursor: n + 1 < pages ? String(n + 1) : '', hits: records, results: page(n) } };
  },
  'GET /breach/catalog/:id': { body: catalog },
});

const env: Record<string, string | undefined> = {
  PATH: process.env.PATH,
  // The image's environment (NODE_ENV, NODE_OPTIONS), then the connector's settings.
  ...imageEnv,
  SPYCLOUD_API_BASE_URL: `${vendor.url}/`,
  SPYCLOUD_API_KEY: 'bench-key',
  CONNECTOR_DURATION_PERIOD: 'PT1H',
  CONNECTOR_LOG_LEVEL: 'warn',
  NODE_OPTIONS: nodeOptions,
};
let platform: TestPlatform | null = null;
const connectorId = randomUUID();
if (mode !== 'dry-run') {
  platform = await startTestPlatform({ worker: mode === 'daemon' });
  Object.assign(env, {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_ID: connectorId,
    CONNECTOR_RUN_AND_TERMINATE: 'true',
  });
}

const main = fileURLToPath(new URL('../connectors/spycloud/dist/main.js', import.meta.url));
const started = performance.now();
const child: ChildProcess = spawn(
  process.execPath,
  [...nodeArgs, main, ...(mode === 'dry-run' ? ['import', '--dry-run'] : [])],
  { env, stdio: ['ignore', 'pipe', 'inherit'] },
);
let bytes = 0;
child.stdout?.on('data', (b: Buffer) => {
  bytes += b.length;
});
let peak = 0;
const sampler = setInterval(() => {
  try {
    const now = peakRssMb(child.pid as number);
    if (Number.isFinite(now)) peak = Math.max(peak, now);
  } catch {
    // the process is gone
  }
}, 50);
// 'close', not 'exit': stdout may still hold data when the process has exited.
const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
clearInterval(sampler);
const seconds = (performance.now() - started) / 1000;
const arrivals = vendor.requests.filter((r) => r.path === '/breach/data/watchlist').map((r) => r.at);
await vendor.close();

let delivered: Record<string, unknown> = { outputMb: round(bytes / 2 ** 20, 1) };
if (platform) {
  const work = platform.worksOf(connectorId)[0];
  delivered = {
    work: work ? { status: work.status, expectations: work.import_expected_number } : null,
    ...(mode === 'daemon'
      ? { messagesIngestedAtExit: platform.pushMessages(connectorId).length }
      : { messagesQueued: await platform.queueDepth(connectorId, 'push') }),
  };
  await platform.close();
}

const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] as number));
const tenth = Math.max(1, Math.floor(gaps.length / 10));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const first = mean(gaps.slice(0, tenth));
const last = mean(gaps.slice(-tenth));
process.stdout.write(
  `${JSON.stringify({
    records,
    mode,
    nodeOptions,
    imageNodeOptions: nodeOptions === imageNodeOptions,
    nodeArgs: nodeArgs.join(' '),
    pages: arrivals.length,
    exitCode: code,
    seconds: round(seconds, 1),
    recordsPerSecond: round(records / seconds, 0),
    ...delivered,
    peakRssMb: peak,
    firstTenthMsPerPage: round(first, 1),
    lastTenthMsPerPage: round(last, 1),
    lastToFirstRatio: round(last / first, 2),
  })}\n`,
);
process.exit(code === 0 ? 0 : 1);
