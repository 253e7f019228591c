/**
 * No secret in any output. Each connector runs as a spawned process (every byte of stdout and stderr is
 * captured, whatever writes it) at debug level with recognisable secret values: its vendor credentials,
 * the OpenCTI token, and the RabbitMQ password of a broker user created for this suite, which the platform
 * hands out at registration. It is driven through success and every error path; then stdout, stderr, the
 * works (messages and errors) and every request the platform recorded are searched for every secret, raw,
 * URL-encoded, JSON-escaped and base64-encoded (the values hold the characters those encodings change).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeReply, findSecrets, startConnector, startTestPlatform, type TestPlatform } from '../../src/index.js';
import { addBrokerUser, brokerConnectionUsers, deleteBrokerUser } from '../sdk/faults/broker.js';
import { type SpawnedConnector, spawnConnector } from '../sdk/faults/spawn.js';
import { CASES, type ConnectorCase } from './cases.js';
import { generatedSection } from './generated-docs.js';
import {
  type CaseVendor,
  expectNoSecrets,
  type Fault,
  LISTEN_PROTOCOLS,
  type ListenProtocol,
  listenProtocolEnv,
  processedWork,
  runTracker,
  secretsOf,
  startCaseVendor,
} from './harness.js';

const suffix = randomUUID().slice(0, 8);
const BROKER_USER = `cti-secrets-${suffix}`;
const BROKER_PASSWORD = `RMQ-PASSWORD+"secret\\suite"/${suffix}&x=1`;
const OPENCTI_TOKEN = `OPENCTI-TOKEN+secret/suite=${suffix}`;

const HTML = '<!doctype html><html><body><h1>Maintenance</h1></body></html>';
const reply =
  (r: FakeReply): Fault =>
  () =>
    r;

interface EnricherPath {
  name: string;
  fault?: Fault;
  markings?: string[];
  malformed?: boolean;
  outOfScope?: boolean;
  platform503?: boolean;
}

/** Every way an enrichment ends; the rate limit last (some connectors then refuse lookups for a while). */
const ENRICHER_PATHS: readonly EnricherPath[] = [
  { name: 'success' },
  { name: 'vendor 401', fault: reply({ status: 401, body: { message: 'Unauthorized' } }) },
  { name: 'vendor 500', fault: reply({ status: 500, body: 'Internal Server Error' }) },
  { name: 'vendor HTML page', fault: reply({ body: HTML, headers: { 'content-type': 'text/html' } }) },
  { name: 'vendor timeout', fault: reply({ delayMs: 3_000, body: {} }) },
  { name: 'TLP refusal', markings: ['TLP:RED'] },
  { name: 'malformed message', malformed: true },
  { name: 'out of scope', outOfScope: true },
  { name: 'OpenCTI 503 on toProcessed (requeue)', platform503: true },
  { name: 'vendor 429', fault: reply({ status: 429, body: { message: 'Too Many Requests' } }) },
];

const IMPORTER_PATHS: ReadonlyArray<{ name: string; fault?: Fault }> = [
  { name: 'run: success' },
  {
    name: 'run: one vendor 401 (TeamT5 then renews its token)',
    fault: (_req, hit) => (hit === 1 ? { status: 401, body: { message: 'Unauthorized' } } : undefined),
  },
  { name: 'run: vendor 403', fault: reply({ status: 403, body: { message: 'Forbidden' } }) },
  { name: 'run: vendor 500', fault: reply({ status: 500, body: 'Internal Server Error' }) },
  { name: 'run: vendor HTML page', fault: reply({ body: HTML, headers: { 'content-type': 'text/html' } }) },
];

const doc = generatedSection('secrets');
const rows = new Map<string, string[]>();
let platform: TestPlatform;
const processes: SpawnedConnector[] = [];

beforeAll(async () => {
  await addBrokerUser(BROKER_USER, BROKER_PASSWORD);
  platform = await startTestPlatform({
    amqpUrl: `amqp://${BROKER_USER}:${encodeURIComponent(BROKER_PASSWORD)}@127.0.0.1:5672`,
    token: OPENCTI_TOKEN,
  });
}, 60_000);
afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await platform?.close();
  await deleteBrokerUser(BROKER_USER);
}, 60_000);

function spawnCase(c: ConnectorCase, vendor: CaseVendor, env: Record<string, string>, args: string[] = []) {
  const p = spawnConnector(
    c.main,
    { OPENCTI_URL: platform.url, OPENCTI_TOKEN, CONNECTOR_LOG_LEVEL: 'debug', ...c.env(vendor.url), ...env },
    args,
  );
  processes.push(p);
  return p;
}

/** A spawned process's output as log lines (for the run tracker). */
const asLogSource = (p: SpawnedConnector, connectorId: string) => ({
  connectorId,
  get logs() {
    return p.stdout.join('').split('\n');
  },
});

async function driveEnricher(
  c: ConnectorCase,
  vendor: CaseVendor,
  p: SpawnedConnector,
  connectorId: string,
  protocol: ListenProtocol,
) {
  // Each protocol's run enriches values of its own (both run at once on the one platform).
  let n = protocol === 'API' ? 50 : 0;
  for (const path of ENRICHER_PATHS) {
    n++;
    vendor.setFault(path.fault ?? null);
    const fault = path.platform503
      ? platform.faults.graphql({ operation: 'workToProcessed', status: 503, times: 3 })
      : null;
    if (path.malformed) {
      await platform.publishListenRaw(connectorId, `{"internal":{"work_id":null},"event":{"entity_id":42},"k":"${n}"}`);
      continue;
    }
    const observable = path.outOfScope
      ? { entity_type: 'Email-Addr', value: `someone${n}@example.org` }
      : n === 1 || n === 51
        ? (c.observable ?? { entity_type: '', value: '' })
        : c.observable?.entity_type === 'Domain-Name'
          ? { entity_type: 'Domain-Name', value: `secrets${n}.example.org` }
          : { entity_type: 'IPv4-Addr', value: `203.0.113.${100 + n}` };
    const entity = platform.addEntity({ ...observable, markings: path.markings ?? [] });
    const workId = await platform.askEnrichment(connectorId, entity.standard_id);
    await processedWork(platform, workId, 60_000);
    if (fault) expect(fault.hits).toBe(3);
  }
  vendor.setFault(null);
  expect(p.child.exitCode).toBeNull();
}

async function driveImporter(vendor: CaseVendor, p: SpawnedConnector, connectorId: string) {
  const nextRun = runTracker(platform, asLogSource(p, connectorId));
  for (const path of IMPORTER_PATHS) {
    vendor.setFault(path.fault ?? null);
    await nextRun(120_000);
  }
  vendor.setFault(null);
  expect(p.child.exitCode).toBeNull();
}

describe('no secret in any output', () => {
  // Enrichers on both listen protocols: with the HTTP one, the token also arrives in every POST's header.
  const runs = CASES.flatMap((c, ci) =>
    (c.kind === 'enrichment' ? LISTEN_PROTOCOLS : (['AMQP'] as const)).map((protocol) => ({ c, ci, protocol })),
  );
  for (const { c, ci, protocol } of runs) {
    const on = c.kind === 'enrichment' ? `, listen protocol ${protocol}` : '';
    it.concurrent(`${c.slug}: debug level, success and every error path, daemon and dry run${on}`, async () => {
      const vendor = await startCaseVendor(c);
      try {
        const connectorId = randomUUID();
        const name = `Secrets-${c.slug}-${protocol}-${suffix}`;
        const daemon = spawnCase(c, vendor, {
          CONNECTOR_ID: connectorId,
          CONNECTOR_NAME: name,
          ...(c.kind === 'enrichment' ? listenProtocolEnv(protocol) : {}),
          ...(c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT2S' } : {}),
        });
        if (c.kind === 'enrichment') {
          await daemon.waitForOutput('listening for enrichment requests', 60_000);
          await driveEnricher(c, vendor, daemon, connectorId, protocol);
          // The broker connections (the push one, on either listen protocol) use the suite's own user: its
          // password is the one handed out.
          expect(await brokerConnectionUsers(name)).toContain(BROKER_USER);
        } else {
          await driveImporter(vendor, daemon, connectorId);
          expect(await brokerConnectionUsers(name)).toContain(BROKER_USER);
        }
        daemon.child.kill('SIGTERM');
        expect((await daemon.exited).code).toBe(0);

        // Dry runs: the command line prints bundles (stdout) and logs (stderr); success, then a failure.
        const dryArgs = c.kind === 'enrichment' ? ['enrich', c.observable?.value ?? ''] : ['import', '--dry-run'];
        // SpyCloud requires CONNECTOR_DURATION_PERIOD even for a dry run, which schedules nothing.
        const dryEnv: Record<string, string> = c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT1H' } : {};
        const dryOk = spawnCase(c, vendor, dryEnv, dryArgs);
        expect((await dryOk.exited).code).toBe(0);
        vendor.setFault(reply({ status: 401, body: { message: 'Unauthorized' } }));
        const dryFail = spawnCase(c, vendor, dryEnv, dryArgs);
        expect((await dryFail.exited).code).toBe(1);
        vendor.setFault(null);

        const secrets = { ...secretsOf(c, vendor, OPENCTI_TOKEN), 'RabbitMQ password': BROKER_PASSWORD };
        // The vendor did receive its credentials: they were in use, not absent.
        const sentToVendor = JSON.stringify(vendor.requests.map((r) => ({ h: r.headers, b: r.body })));
        const received = findSecrets({ vendor: sentToVendor }, c.secrets).map((s) => s.secret);
        expect(received.sort()).toEqual(Object.keys(c.secrets).sort());

        const places: Record<string, string> = {
          'daemon stdout': daemon.stdout.join(''),
          'daemon stderr': daemon.stderr.join(''),
          'dry run stdout': dryOk.stdout.join('') + dryFail.stdout.join(''),
          'dry run stderr': dryOk.stderr.join('') + dryFail.stderr.join(''),
          'works (messages, errors)': JSON.stringify(platform.worksOf(connectorId)),
          'requests to OpenCTI (variables)': JSON.stringify(
            platform
              .requests()
              .filter((r) => JSON.stringify(r.variables).includes(connectorId) || r.variables.id !== undefined)
              .map((r) => r.variables),
          ),
        };
        expect(places['daemon stdout']?.length ?? 0).toBeGreaterThan(1000);
        expect(places['daemon stdout']).toMatch(/"level":"DEBUG"/);
        expectNoSecrets(places, secrets);
        const paths = c.kind === 'enrichment' ? ENRICHER_PATHS.map((p) => p.name) : IMPORTER_PATHS.map((p) => p.name);
        rows.set(`${protocol}-${ci}`, [
          c.slug,
          [...paths, 'SIGTERM', 'dry run: success', 'dry run: vendor 401'].join(', '),
          [
            ...Object.keys(c.secrets),
            'OPENCTI_TOKEN',
            'RabbitMQ password',
            ...(vendor.state.issuedSecrets.length > 0
              ? [`the ${vendor.state.issuedSecrets.length} OAuth access tokens it was issued`]
              : []),
          ].join(', '),
          'none',
        ]);
      } finally {
        await vendor.close();
      }
    }, 600_000);
  }

  // OPENCTI_CUSTOM_HEADERS is where an admin puts the credentials of a proxy in front of OpenCTI (Cloudflare
  // Access' CF-Access-Client-Secret, an X-Auth header): its values are secrets, logged masked even at debug.
  it('OPENCTI_CUSTOM_HEADERS values (proxy credentials) are not logged at debug level', async () => {
    const c = CASES[0] as ConnectorCase;
    const vendor = await startCaseVendor(c);
    const proxySecret = `CF-ACCESS-SECRET+secret/suite=${suffix}`;
    const d = startConnector(c.definition, {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN,
      CONNECTOR_LOG_LEVEL: 'debug',
      OPENCTI_CUSTOM_HEADERS: `CF-Access-Client-Id:cf-client-id.access;CF-Access-Client-Secret:${proxySecret}`,
      ...c.env(vendor.url),
    });
    try {
      await d.waitForLog('listening for enrichment requests', 60_000);
      const leakedIn = d.logs.filter((l) => findSecrets({ l }, { proxySecret }).length > 0);
      rows.set('custom-headers', [
        c.slug,
        'OPENCTI_CUSTOM_HEADERS=CF-Access-Client-Id:…;CF-Access-Client-Secret:… (credentials of a proxy in front of OpenCTI), debug level',
        'the CF-Access-Client-Secret value',
        leakedIn.length === 0
          ? 'none'
          : `BUG: in clear in ${leakedIn.length} log line(s) ("${String((JSON.parse(leakedIn[0] ?? '{}') as { message?: string }).message)}")`,
      ]);
      expect(leakedIn).toEqual([]);
    } finally {
      await d.stop();
      await vendor.close();
    }
  }, 120_000);

  it('docs/security.md shows what this suite observed', ({ task }) => {
    for (const [ci, c] of CASES.entries()) {
      const row = rows.get(`AMQP-${ci}`);
      if (row) doc.record(...row);
      if (c.kind === 'enrichment') expect(rows.get(`API-${ci}`), `${c.slug}, HTTP listen protocol`).toEqual(row);
    }
    const headers = rows.get('custom-headers');
    if (headers) doc.record(...headers);
    doc.verify(task);
  });
});
