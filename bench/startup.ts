/**
 * Start-up and idle memory of each connector's entry as the image runs it (its /app: the bundle and the
 * compile cache the runtime stage makes, with the image's environment: NODE_ENV, NODE_OPTIONS and
 * NODE_COMPILE_CACHE from docker/Dockerfile), the same bundle without the cache, and the compiled,
 * unbundled connectors/<slug>/dist/main.js.
 * Start-up: from spawning the process to (a) registered with the platform and (b) ready — consuming its
 * listen queue (enrichers) or its first import run started (importers); median of RUNS. Baseline: `node -e 0`
 * with the same environment, in the same run.
 * Idle RSS: the daemon registered and consuming after 50 enrichments (enrichers: the conformance case's two
 * observables in turn, every work processed) or after one import run (importers: its next run scheduled),
 * then left idle IDLE_MS; VmRSS from /proc. Baseline: bare node with the same environment, idle as long.
 * Every connector folder is measured (found at run time), each against the fake vendor of its conformance
 * case (connectors/<slug>/test/conformance.ts), which replays its recorded answers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeVendor, startTestPlatform, type TestPlatform, waitUntil } from '@cti/connector-testkit';
import { bundleConnector } from '../scripts/bundle.js';
import { type ConnectorCase, connectorCases } from '../scripts/conformance.js';
import { REPO_ROOT } from '../scripts/paths.js';
import { finishImageFolder, imageEnvironment, percentile } from './lib.js';

const RUNS = 5;
const ENRICHMENTS = 50;
/** How long a process is left idle before its RSS is read (timers, GC and the allocator settle). */
const IDLE_MS = 5_000;
const imageEnv = imageEnvironment();

/** How a connector is started: its image's /app, the bundle without the compile cache, or its compiled dist. */
interface Form {
  form: 'image' | 'image-no-cache' | 'compiled';
  main: string;
  cwd: string;
  /** The image's environment for this form (the compile cache only for `image`). */
  env: Record<string, string>;
}

/** Bytes of every file under a folder (the image's /app: bundle, licenses and compile cache). */
function bytesUnder(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return bytes;
}

/** Resident set size now (VmRSS), in MB. */
function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
}

/** Bare node, idle for as long as a daemon is, with the image's environment. */
async function bareIdleRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
    env: { PATH: process.env.PATH, ...imageEnv },
    stdio: 'ignore',
  });
  await sleep(IDLE_MS);
  const rss = rssMb(child.pid as number);
  await stop(child);
  return rss;
}

/** The daemon after 50 enrichments or one import run, then idle: its RSS. */
async function daemonIdleRss(c: ConnectorCase, form: Form, platform: TestPlatform, env: Record<string, string>) {
  const id = randomUUID();
  const child = spawn(process.execPath, [form.main], {
    cwd: form.cwd,
    env: { PATH: process.env.PATH, ...form.env, ...env, CONNECTOR_ID: id },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  try {
    if (c.kind === 'enrichment') {
      await waitUntil(() => out.includes('listening for enrichment requests'), { timeoutMs: 30_000 });
      const works: string[] = [];
      for (let i = 0; i < ENRICHMENTS; i++) {
        const o = i % 2 === 0 ? c.observable : c.nextObservable;
        if (!o) throw new Error(`${c.slug}: its conformance case has no observable to enrich`);
        const entity = platform.addEntity({ entity_type: o.entity_type, value: o.value });
        works.push(await platform.askEnrichment(id, entity.standard_id));
      }
      await waitUntil(() => works.every((w) => platform.work(w)?.processed_time), {
        timeoutMs: 120_000,
        message: `${c.slug}: ${ENRICHMENTS} enrichments processed (logs: ${out.slice(-2000)})`,
      });
    } else {
      await waitUntil(() => out.includes('next run scheduled'), {
        timeoutMs: 120_000,
        message: `${c.slug}: one import run (logs: ${out.slice(-2000)})`,
      });
    }
    await sleep(IDLE_MS);
    return rssMb(child.pid as number);
  } finally {
    await stop(child);
  }
}

async function timeProcess(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  baseEnv: Record<string, string>,
  readyText: string | null,
  registered?: () => boolean,
) {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH, ...baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let registeredMs = Number.NaN;
  let readyMs = Number.NaN;
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} not ready in 30 s:\n${out.slice(-2000)}`)),
      30_000,
    );
    const poll = setInterval(() => {
      if (registered && Number.isNaN(registeredMs) && registered()) registeredMs = performance.now() - started;
    }, 2);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (readyText && Number.isNaN(readyMs) && out.includes(readyText)) {
        readyMs = performance.now() - started;
        if (Number.isNaN(registeredMs)) registeredMs = readyMs;
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => {
      if (readyText === null) {
        readyMs = performance.now() - started;
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  return { registeredMs, readyMs };
}

const baseline: number[] = [];
for (let i = 0; i < RUNS; i++) baseline.push((await timeProcess(['-e', '0'], REPO_ROOT, {}, imageEnv, null)).readyMs);

const platform = await startTestPlatform();
const rows = [];
const bundles = mkdtempSync(join(tmpdir(), 'cti-bench-image-'));
for (const c of await connectorCases()) {
  const compiled = join(REPO_ROOT, 'connectors', c.slug, 'dist', 'main.js');
  if (!existsSync(compiled)) {
    process.stderr.write(`[bench] ${c.slug}: no dist/main.js (run pnpm build)\n`);
    continue;
  }
  // The image's /app: scripts/bundle.ts, then the runtime stage's compile cache, as docker/Dockerfile makes it.
  const bundle = await bundleConnector(c.slug, join(bundles, c.slug));
  finishImageFolder(bundle.out);
  const main = join(bundle.out, 'dist', 'main.js');
  const forms: Form[] = [
    { form: 'image', main, cwd: bundle.out, env: imageEnvironment(bundle.out) },
    { form: 'image-no-cache', main, cwd: bundle.out, env: imageEnv },
    { form: 'compiled', main: compiled, cwd: REPO_ROOT, env: imageEnv },
  ];
  const state = { issuedSecrets: [] as string[] };
  let url = '';
  const route = (req: Parameters<typeof c.answer>[0]) => c.answer(req, url, state);
  const vendor = await startFakeVendor({ 'GET *': route, 'POST *': route });
  url = vendor.url;
  const ready = c.kind === 'enrichment' ? 'listening for enrichment requests' : 'import run started';
  const settings = {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_LOG_LEVEL: 'info',
    ...(c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT1H' } : {}),
    ...c.env(vendor.url),
  };
  for (const form of forms) {
    const registered: number[] = [];
    const readyTimes: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Bare node right before each run: the machine is shared, its load changes between connectors.
      bare.push((await timeProcess(['-e', '0'], REPO_ROOT, {}, imageEnv, null)).readyMs);
      const id = randomUUID();
      const t = await timeProcess(
        [form.main],
        form.cwd,
        { ...settings, CONNECTOR_ID: id },
        form.env,
        ready,
        () => (platform.connector(id)?.registrations.length ?? 0) > 0,
      );
      registered.push(t.registeredMs);
      readyTimes.push(t.readyMs);
    }
    rows.push({
      slug: c.slug,
      form: form.form,
      registeredMs: Math.round(percentile(registered, 50)),
      readyMs: Math.round(percentile(readyTimes, 50)),
      bareMs: Math.round(percentile(bare, 50)),
      idleRssMb: await daemonIdleRss(c, form, platform, settings),
      idleAfter: c.kind === 'enrichment' ? `${ENRICHMENTS} enrichments` : 'one import run',
      ...(form.form === 'image' ? { imageMb: Math.round((bytesUnder(bundle.out) / 2 ** 20) * 100) / 100 } : {}),
    });
  }
  await vendor.close();
}
rmSync(bundles, { recursive: true, force: true });
await platform.close();
const nodeIdleRssMb = await bareIdleRss();
process.stdout.write(
  `${JSON.stringify({
    runs: RUNS,
    nodeOptions: imageEnv.NODE_OPTIONS ?? '',
    idleMs: IDLE_MS,
    nodeBaselineMs: Math.round(percentile(baseline, 50)),
    nodeIdleRssMb,
    rows,
  })}\n`,
);
process.exit(0);
