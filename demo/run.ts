/**
 * `pnpm demo` (the README's `./run demo`): the whole suite on one machine, with no OpenCTI and no vendor
 * account. It starts the stand-in platform, fake vendor APIs that replay the recorded fixtures, and every
 * connector folder (`--list` names them) as real processes (their dist/main.js) against the local RabbitMQ;
 * asks each enricher to enrich sample observables and runs each importer once; then prints a table per
 * connector and writes every bundle the platform's worker ingested under demo-output/. A bundle that is not
 * valid STIX 2.1 is printed with its violations and makes the demo exit 1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type FakeVendor,
  StixViolationError,
  startTestPlatform,
  stixBundleViolations,
  type TestPlatform,
  type WorkSnapshot,
  waitUntil,
} from '@cti/connector-testkit';
import amqp from 'amqplib';
import { type DemoConnector, demoConnectors } from './connectors.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}demo-output`;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function brokerReachable(): Promise<boolean> {
  try {
    const conn = await amqp.connect(AMQP_URL);
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

interface Running {
  spec: DemoConnector;
  connectorId: string;
  process: ChildProcess;
  output: string[];
  vendor: FakeVendor;
  exited: Promise<number | null>;
  works: string[];
  /** What each work was about, for the table. */
  labels: Map<string, string>;
  startedAt: number;
}

function launch(spec: DemoConnector, platform: TestPlatform, vendor: FakeVendor): Running {
  const connectorId = randomUUID();
  const main = `${root}connectors/${spec.slug}/dist/main.js`;
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      CONNECTOR_ID: connectorId,
      CONNECTOR_LOG_LEVEL: 'info',
      ...spec.env(vendor.url),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    spec,
    connectorId,
    process: child,
    output,
    vendor,
    exited,
    works: [],
    labels: new Map(),
    startedAt: Date.now(),
  };
}

function countTypes(objects: Array<{ type: string }>): string {
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(o.type, (counts.get(o.type) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${n} ${t}`)
    .join(', ');
}

function duration(work: WorkSnapshot): string {
  const start = Date.parse(work.timestamp);
  const end = Date.parse(work.completed_time ?? work.processed_time ?? '');
  return Number.isNaN(end) ? '-' : `${((end - start) / 1000).toFixed(2)} s`;
}

async function main(): Promise<number> {
  const connectors = await demoConnectors();
  // `pnpm demo --list`: what the demo would run, one connector a line, without running it.
  if (process.argv.includes('--list')) {
    for (const spec of connectors) say(`${spec.slug}\t${spec.kind}\t${spec.title}`);
    return 0;
  }
  for (const spec of connectors) {
    if (!existsSync(`${root}connectors/${spec.slug}/dist/main.js`)) {
      say(`connectors/${spec.slug}/dist/main.js is missing: run \`pnpm build\` first (./run demo does).`);
      return 1;
    }
  }
  if (!(await brokerReachable())) {
    say(`RabbitMQ is not reachable at ${AMQP_URL.replace(/\/\/[^@]*@/, '//')}.`);
    say('Start one with: rabbitmq-server -detached   (or set AMQP_URL)');
    return 1;
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  say('Starting the stand-in OpenCTI platform...');
  const platform = await startTestPlatform({ amqpUrl: AMQP_URL });
  const running: Running[] = [];
  let ok = true;
  try {
    for (const spec of connectors) {
      const vendor = await spec.vendor();
      running.push(launch(spec, platform, vendor));
      say(`  started ${spec.title} (${spec.kind}) against a fake ${spec.vendorName} at ${vendor.url}`);
    }
    say('Waiting for the connectors to register...');
    await waitUntil(() => running.every((r) => (platform.connector(r.connectorId)?.registrations.length ?? 0) > 0), {
      timeoutMs: 60_000,
      message: 'every connector to register',
    }).catch((err: unknown) => {
      for (const r of running) {
        if (!platform.connector(r.connectorId))
          say(`  ${r.spec.title} did not register:\n${r.output.join('').slice(-1500)}`);
      }
      throw err;
    });

    for (const r of running) {
      if (r.spec.kind !== 'enrichment') continue;
      await waitUntil(() => r.output.join('').includes('listening for enrichment requests'), { timeoutMs: 30_000 });
      for (const sample of r.spec.samples ?? []) {
        const entity = platform.addEntity(sample);
        const workId = await platform.askEnrichment(r.connectorId, entity.standard_id);
        r.works.push(workId);
        r.labels.set(workId, `${sample.entity_type} ${sample.value}`);
        say(`  asked ${r.spec.title} to enrich ${sample.entity_type} ${sample.value}`);
      }
    }

    say('Waiting for the enrichments and the import runs to finish...');
    const deadline = Date.now() + 120_000;
    for (const r of running) {
      if (r.spec.kind === 'import') {
        const code = await Promise.race([
          r.exited,
          new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), deadline - Date.now())),
        ]);
        r.works = platform.worksOf(r.connectorId).map((w) => w.id);
        if (code !== 0) {
          ok = false;
          say(`  ${r.spec.title} exited with ${String(code)}:\n${r.output.join('').slice(-1500)}`);
        }
      }
      for (const workId of r.works) {
        await platform
          .waitForWork(workId, { timeoutMs: Math.max(1_000, deadline - Date.now()) })
          .catch(() => undefined);
      }
      const done = r.works.map((w) => platform.work(w)).filter((w) => w?.status === 'complete').length;
      say(`  ${r.spec.title}: ${done}/${r.works.length} works complete`);
    }

    say('');
    for (const r of running) {
      say(
        `${r.spec.title} (${r.spec.kind === 'enrichment' ? 'enrichment' : 'import'}, ${r.spec.vendorName} fake: ${r.vendor.requests.length} requests)`,
      );
      say(`  ${'work'.padEnd(46)} ${'status'.padEnd(10)} ${'duration'.padEnd(9)} objects`);
      if (r.works.length === 0) {
        ok = false;
        say('  (no work)');
      }
      for (const workId of r.works) {
        const work = platform.work(workId);
        const objects = platform.objects({ workId }).map((o) => o.object as { type: string; id: string });
        const failed = work?.status !== 'complete' || (work?.errors.length ?? 0) > 0;
        if (failed) ok = false;
        const status = work?.errors.length ? 'error' : (work?.status ?? 'missing');
        const label = r.labels.get(workId) ?? work?.name ?? workId;
        say(
          `  ${label.slice(0, 46).padEnd(46)} ${status.padEnd(10)} ${(work ? duration(work) : '-').padEnd(9)} ${objects.length}: ${countTypes(objects)}`,
        );
        for (const e of work?.errors ?? []) say(`    error: ${e.message}`);
        for (const m of (work?.messages ?? []).slice(-1)) say(`    ${m.message}`);
        const dir = `${outDir}/${r.spec.slug}`;
        mkdirSync(dir, { recursive: true });
        const bundle = { type: 'bundle', id: `bundle--${randomUUID()}`, objects: objects };
        writeFileSync(`${dir}/${workId.replace(/[^A-Za-z0-9_-]+/g, '_')}.json`, `${JSON.stringify(bundle, null, 2)}\n`);
        // A work that sent nothing has no bundle to check.
        const violations = objects.length === 0 ? [] : stixBundleViolations(bundle);
        if (violations.length > 0) {
          ok = false;
          say(`    NOT VALID STIX 2.1 (${violations.length} violations):`);
          for (const v of violations) say(`      ${v}`);
        }
      }
      say('');
    }
    // Playbook answers and anything not tied to a work are checked by the platform itself.
    const elsewhere = platform.stixViolations().filter((v) => v.workId === null);
    if (elsewhere.length > 0) {
      ok = false;
      say(`STIX 2.1 violations outside the works above:`);
      for (const v of elsewhere) say(`  ${v.message}`);
    }
    say(
      ok
        ? `All ${running.length} connectors succeeded, every bundle valid STIX 2.1. Bundles are in ${outDir}/`
        : 'Some connectors did not succeed: see above.',
    );
  } finally {
    for (const r of running) {
      if (r.process.exitCode === null) r.process.kill('SIGTERM');
    }
    await Promise.all(running.map((r) => r.exited));
    await Promise.all(running.map((r) => r.vendor.close()));
    // Violations were reported above; the exit code says it.
    await platform.close().catch((err: unknown) => {
      if (!(err instanceof StixViolationError)) throw err;
    });
  }
  return ok ? 0 : 1;
}

process.exit(await main());
