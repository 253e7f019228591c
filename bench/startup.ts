/**
 * Start-up of each connector's compiled entry (connectors/<slug>/dist/main.js): from spawning the process
 * to (a) registered with the platform and (b) ready — consuming its listen queue (enrichers) or its first
 * import run started (importers). Baseline: `node -e 0` on the same machine, in the same run.
 * Every connector folder is measured (found at run time), each against the fake vendor of its conformance
 * case (connectors/<slug>/test/conformance.ts), which replays its recorded answers.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startFakeVendor, startTestPlatform } from '@cti/connector-testkit';
import { connectorCases } from '../scripts/conformance.js';
import { percentile } from './lib.js';

const RUNS = 5;

async function timeProcess(
  args: string[],
  env: Record<string, string>,
  readyText: string | null,
  registered?: () => boolean,
) {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, ...env },
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
for (let i = 0; i < RUNS; i++) baseline.push((await timeProcess(['-e', '0'], {}, null)).readyMs);

const platform = await startTestPlatform();
const rows = [];
for (const c of await connectorCases()) {
  const main = fileURLToPath(new URL(`../connectors/${c.slug}/dist/main.js`, import.meta.url));
  if (!existsSync(main)) {
    process.stderr.write(`[bench] ${c.slug}: no dist/main.js (run pnpm build)\n`);
    continue;
  }
  const state = { issuedSecrets: [] as string[] };
  let url = '';
  const route = (req: Parameters<typeof c.answer>[0]) => c.answer(req, url, state);
  const vendor = await startFakeVendor({ 'GET *': route, 'POST *': route });
  url = vendor.url;
  const ready = c.kind === 'enrichment' ? 'listening for enrichment requests' : 'import run started';
  const registered: number[] = [];
  const readyTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const id = randomUUID();
    const t = await timeProcess(
      [main],
      {
        OPENCTI_URL: platform.url,
        OPENCTI_TOKEN: platform.token,
        CONNECTOR_ID: id,
        CONNECTOR_LOG_LEVEL: 'info',
        ...(c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT1H' } : {}),
        ...c.env(vendor.url),
      },
      ready,
      () => (platform.connector(id)?.registrations.length ?? 0) > 0,
    );
    registered.push(t.registeredMs);
    readyTimes.push(t.readyMs);
  }
  rows.push({
    slug: c.slug,
    registeredMs: Math.round(percentile(registered, 50)),
    readyMs: Math.round(percentile(readyTimes, 50)),
  });
  await vendor.close();
}
await platform.close();
process.stdout.write(`${JSON.stringify({ runs: RUNS, nodeBaselineMs: Math.round(percentile(baseline, 50)), rows })}\n`);
process.exit(0);
