/**
 * Memory under hostile vendor answers: the CrowdSec daemon (compiled JS, the image's environment) against the
 * stand-in platform, the real broker and a local vendor whose every answer is one of:
 *   normal         the recorded smoke answer (about 10 KB): the baseline
 *   near-cap       the smoke answer padded to just under CrowdSec's 2 MiB cap: the largest answer accepted
 *   huge-declared  120 MB announced by Content-Length, then streamed
 *   huge-chunked   120 MB streamed without Content-Length (chunked)
 *   gzip-bomb      120 MB of JSON gzipped to about 120 KB, Content-Encoding: gzip
 * A burst of enrichments at CONNECTOR_PREFETCH 4 (four answers in flight at once); the figure is the daemon's
 * peak RSS (VmHWM) once every work has ended, to compare with the baseline's.
 * Usage: tsx bench/hostile-answers.ts <answer> [enrichments]  — prints one JSON line.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { startTestPlatform, waitUntil } from '@cti/connector-testkit';
import { imageEnvironment, peakRssMb, round } from './lib.js';

const answer = process.argv[2] ?? 'normal';
const enrichments = Number(process.argv[3] ?? 16);
const PREFETCH = 4;
const HUGE = 120 * 1024 * 1024;
if (!['normal', 'near-cap', 'huge-declared', 'huge-chunked', 'gzip-bomb'].includes(answer)) {
  throw new Error(`unknown answer "${answer}"`);
}
const root = fileURLToPath(new URL('../', import.meta.url));
const smoke = readFileSync(
  fileURLToPath(new URL('../connectors/crowdsec/test/fixtures/smoke-ip-146.70.186.190.json', import.meta.url)),
);

/** The daemon runs compiled JS, as deployed: build it (incremental) so it matches the source. */
function build(): void {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const built = spawnSync(process.execPath, [tsc, '-b', 'connectors/crowdsec'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('tsc -b connectors/crowdsec failed');
}

const CAP = 2 * 1024 * 1024;
const nearCap = (() => {
  const parsed = JSON.parse(smoke.toString('utf8')) as Record<string, unknown>;
  const base = Buffer.byteLength(JSON.stringify({ ...parsed, padding: '' }));
  return Buffer.from(JSON.stringify({ ...parsed, padding: 'a'.repeat(CAP - base - 1024) }));
})();

const filler = Buffer.alloc(64 * 1024, 'a');
/** Streams `total` bytes while the client reads them; stops when it hangs up. */
function streamHuge(res: ServerResponse, total: number): void {
  let sent = 0;
  res.on('error', () => undefined);
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      sent += filler.length;
      if (!res.write(filler)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  res.write('{"padding":"');
  pump();
}

const bomb =
  answer === 'gzip-bomb' ? gzipSync(Buffer.concat([Buffer.from('{"padding":"'), Buffer.alloc(HUGE, 'a')])) : null;

const vendor = createServer((_req: IncomingMessage, res: ServerResponse) => {
  if (answer === 'normal' || answer === 'near-cap') {
    const body = answer === 'normal' ? smoke : nearCap;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    res.end(body);
  } else if (answer === 'huge-declared') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(HUGE + 12) });
    streamHuge(res, HUGE);
  } else if (answer === 'huge-chunked') {
    res.writeHead(200, { 'content-type': 'application/json' });
    streamHuge(res, HUGE);
  } else {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'content-length': String(bomb?.length ?? 0),
    });
    res.end(bomb);
  }
});

build();
await new Promise<void>((resolve) => vendor.listen(0, '127.0.0.1', resolve));
const platform = await startTestPlatform();
const connectorId = randomUUID();
const daemon: ChildProcess = spawn(
  process.execPath,
  [fileURLToPath(new URL('../connectors/crowdsec/dist/main.js', import.meta.url))],
  {
    env: {
      PATH: process.env.PATH,
      ...imageEnvironment(),
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_ID: connectorId,
      CONNECTOR_LOG_LEVEL: 'warn',
      CONNECTOR_PREFETCH: String(PREFETCH),
      CROWDSEC_KEY: 'bench-key-0000',
      CROWDSEC_API_URL: `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`,
      CROWDSEC_QUOTA_BACKOFF_SECONDS: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
await waitUntil(() => platform.connector(connectorId) !== undefined, { timeoutMs: 60_000 });

const started = performance.now();
const works: string[] = [];
for (let i = 0; i < enrichments; i++) {
  const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: `198.18.${(i >> 8) & 255}.${i & 255}` });
  works.push(await platform.askEnrichment(connectorId, ip.standard_id));
}
await waitUntil(() => works.every((w) => platform.work(w)?.status === 'complete'), { timeoutMs: 600_000 });
const seconds = (performance.now() - started) / 1000;
const peak = peakRssMb(daemon.pid as number);
const failed = works.filter((w) => (platform.work(w)?.errors.length ?? 0) > 0).length;
const firstError = works.flatMap((w) => platform.work(w)?.errors.map((e) => e.message) ?? [])[0] ?? null;

daemon.kill('SIGTERM');
await new Promise((resolve) => daemon.once('exit', resolve));
await platform.close();
vendor.closeAllConnections();
vendor.close();
console.log(
  JSON.stringify({
    answer,
    enrichments,
    prefetch: PREFETCH,
    peakRssMb: peak,
    seconds: round(seconds, 2),
    failed,
    firstError: firstError?.replace(/127\.0\.0\.1:\d+/, '<vendor>').replace(/\/smoke\/[\d.]+/, '/smoke/<ip>') ?? null,
  }),
);
