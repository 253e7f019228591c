/**
 * Which V8/Node flags in the image's NODE_OPTIONS lower a daemon's idle RSS, and what they cost: the CrowdSec
 * image (/app: bundle and compile cache) against the stand-in platform and its conformance case's fake vendor,
 * per variant of NODE_OPTIONS: the time for 50 enrichments queued at once (every work processed), then the
 * RSS after IDLE_MS idle; bare node idle as long with the same NODE_OPTIONS beside it. Variants are taken in
 * turns, ROUNDS times, and the medians kept: the machine is shared.
 * Usage: tsx bench/idle-flags.ts — prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeVendor, startTestPlatform, waitUntil } from '@cti/connector-testkit';
import { bundleConnector } from '../scripts/bundle.js';
import { connectorCases } from '../scripts/conformance.js';
import { finishImageFolder, imageEnvironment, percentile, round } from './lib.js';

const ENRICHMENTS = 50;
const IDLE_MS = 5_000;
const ROUNDS = 3;
const base = imageEnvironment().NODE_OPTIONS ?? '';
/**
 * NODE_OPTIONS accepts only some V8 flags (--max-semi-space-size, --v8-pool-size, ...); the others
 * (--optimize-for-size, --single-threaded-gc, --lite-mode) would go on the image's command line: `args`.
 */
interface Variant {
  options: string;
  args: string[];
}
const variants: Record<string, Variant> = {
  image: { options: base, args: [] },
  'semi-space 1': { options: base.replace(/--max-semi-space-size=\d+/, '--max-semi-space-size=1'), args: [] },
  'v8-pool-size 1': { options: `${base} --v8-pool-size=1`, args: [] },
  'optimize-for-size': { options: base, args: ['--optimize-for-size'] },
  'single-threaded-gc': { options: base, args: ['--single-threaded-gc'] },
  'single-threaded': { options: base, args: ['--single-threaded'] },
  'lite-mode': { options: base, args: ['--lite-mode'] },
};

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
  return round(kb / 1024, 1);
}

const c = (await connectorCases()).find((x) => x.slug === 'crowdsec');
if (!c?.observable) throw new Error('no crowdsec conformance case');
const platform = await startTestPlatform();
const dir = mkdtempSync(join(tmpdir(), 'cti-bench-flags-'));
const bundle = await bundleConnector('crowdsec', join(dir, 'app'));
finishImageFolder(bundle.out);
const state = { issuedSecrets: [] as string[] };
let url = '';
const vendor = await startFakeVendor({ 'GET *': (req) => c.answer(req, url, state) });
url = vendor.url;
const samples: Record<string, { rss: number[]; bare: number[]; ms: number[] }> = {};

async function daemon({ options, args }: Variant) {
  const id = randomUUID();
  const child = spawn(process.execPath, [...args, 'dist/main.js'], {
    cwd: bundle.out,
    env: {
      PATH: process.env.PATH,
      ...imageEnvironment(bundle.out),
      NODE_OPTIONS: options,
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_LOG_LEVEL: 'info',
      ...c?.env(vendor.url),
      CONNECTOR_ID: id,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  child.stderr.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  try {
    await waitUntil(() => out.includes('listening for enrichment requests'), {
      timeoutMs: 30_000,
      message: `the daemon to consume (logs: ${out.slice(-2000)})`,
    });
    const started = performance.now();
    const works: string[] = [];
    for (let i = 0; i < ENRICHMENTS; i++) {
      const o = i % 2 === 0 || !c?.nextObservable ? c?.observable : c.nextObservable;
      const entity = platform.addEntity({ entity_type: o?.entity_type ?? '', value: o?.value ?? '' });
      works.push(await platform.askEnrichment(id, entity.standard_id));
    }
    await waitUntil(() => works.every((w) => platform.work(w)?.processed_time), { timeoutMs: 120_000 });
    const ms = performance.now() - started;
    await sleep(IDLE_MS);
    return { rss: rssMb(child.pid as number), ms };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

async function bare({ options, args }: Variant) {
  const child = spawn(process.execPath, [...args, '-e', 'setInterval(() => {}, 1000)'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', NODE_OPTIONS: options },
    stdio: 'ignore',
  });
  await sleep(IDLE_MS);
  const rss = rssMb(child.pid as number);
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  return rss;
}

for (let r = 0; r < ROUNDS; r++) {
  for (const [name, variant] of Object.entries(variants)) {
    const s = samples[name] ?? { rss: [], bare: [], ms: [] };
    samples[name] = s;
    const d = await daemon(variant);
    s.rss.push(d.rss);
    s.ms.push(d.ms);
    s.bare.push(await bare(variant));
    process.stderr.write(`[bench] ${name}: ${d.rss} MB, ${Math.round(d.ms)} ms\n`);
  }
}
await vendor.close();
await platform.close();
rmSync(dir, { recursive: true, force: true });
const rows = Object.entries(samples).map(([name, s]) => ({
  variant: name,
  nodeOptions: variants[name]?.options,
  nodeArgs: variants[name]?.args.join(' '),
  idleRssMb: percentile(s.rss, 50),
  bareIdleRssMb: percentile(s.bare, 50),
  overBareMb: round(percentile(s.rss, 50) - percentile(s.bare, 50), 1),
  enrichmentsMs: Math.round(percentile(s.ms, 50)),
}));
process.stdout.write(`${JSON.stringify({ enrichments: ENRICHMENTS, idleMs: IDLE_MS, rounds: ROUNDS, rows })}\n`);
process.exit(0);
