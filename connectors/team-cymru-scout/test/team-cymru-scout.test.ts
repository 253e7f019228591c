/**
 * The Team Cymru Scout daemon as users run it: against the stand-in platform, the real broker and a fake
 * Scout API on 127.0.0.1 that serves the fixtures and records every request.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { observableId } from '@cti/connector-sdk';
import {
  assertValidStix,
  connectorTestbed,
  type FakeRequest,
  type RunningConnector,
  timestampFormProblems,
} from '@cti/connector-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import scout from '../src/index.js';

const TOKEN = 'SCOUT-TOKEN-must-never-be-logged-7f3a';
const AUTHOR = 'identity--56893999-5bf3-58e3-8d7c-58412a6603c3';
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as {
    objects: Array<Record<string, unknown> & { id: string; type: string }>;
  };
const ipFoundation = fixture('ip-foundation.json');
const search = fixture('search.json');

/** A small Scout answer about one IP: the address, its AS, an indicator on it. */
function ipBundle(type: 'ipv4-addr' | 'ipv6-addr', value: string, asn: number, n: number) {
  const ip = observableId(type, { value });
  const as = observableId('autonomous-system', { number: asn });
  const indicator = `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const at = '2026-01-02T03:04:05.000Z';
  return {
    type: 'bundle',
    id: `bundle--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    objects: [
      { type, spec_version: '2.1', id: ip, value },
      { type: 'autonomous-system', spec_version: '2.1', id: as, number: asn, name: `AS${asn}` },
      {
        type: 'indicator',
        spec_version: '2.1',
        id: indicator,
        created: at,
        modified: at,
        pattern: `[${type}:value = '${value}']`,
        pattern_type: 'stix',
        valid_from: at,
      },
      {
        type: 'relationship',
        spec_version: '2.1',
        id: `relationship--00000000-0000-4000-8001-${String(n).padStart(12, '0')}`,
        created: at,
        modified: at,
        relationship_type: 'belongs-to',
        source_ref: ip,
        target_ref: as,
      },
      {
        type: 'relationship',
        spec_version: '2.1',
        id: `relationship--00000000-0000-4000-8002-${String(n).padStart(12, '0')}`,
        created: at,
        modified: at,
        relationship_type: 'indicates',
        source_ref: indicator,
        target_ref: ip,
      },
    ],
  };
}

/** A small Scout search answer about one domain. */
function domainBundle(value: string, resolvesTo: string) {
  const domain = observableId('domain-name', { value });
  const ip = observableId('ipv4-addr', { value: resolvesTo });
  return {
    type: 'bundle',
    objects: [
      { type: 'domain-name', spec_version: '2.1', id: domain, value },
      { type: 'ipv4-addr', spec_version: '2.1', id: ip, value: resolvesTo },
      {
        type: 'network-traffic',
        spec_version: '2.1',
        id: 'network-traffic--7e6967b8-ce98-5513-ae11-93acda0b2e7e',
        dst_ref: ip,
      },
      {
        type: 'relationship',
        spec_version: '2.1',
        id: 'relationship--00000000-0000-4000-8003-000000000001',
        created: '2026-01-02T03:04:05.000Z',
        modified: '2026-01-02T03:04:05.000Z',
        relationship_type: 'resolves-to',
        source_ref: domain,
        target_ref: ip,
      },
    ],
  };
}

const IPV6 = '2606:4700:4700::1111';
const answers: Record<string, unknown> = {
  '1.1.1.1': ipFoundation,
  [IPV6]: ipBundle('ipv6-addr', IPV6, 13335, 6),
  '8.8.8.8': ipBundle('ipv4-addr', '8.8.8.8', 15169, 8),
  'one.one.one.one': search,
  'example.com': domainBundle('example.com', '93.184.215.14'),
  // Only what the filter drops: a wildcard domain and a network-traffic.
  'nothing-left.example': {
    type: 'bundle',
    objects: search.objects.filter((o) => o.type === 'network-traffic' || String(o.value ?? '').startsWith('*')),
  },
};

function answer(req: FakeRequest, key: string | null) {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 401, body: { message: 'Unauthorized' } };
  if (key === '203.0.113.9') return { status: 429, body: { message: 'Too Many Requests' } };
  const body = key === null ? undefined : answers[key];
  return body === undefined ? { status: 204 } : { body };
}

const bed = connectorTestbed({
  definition: scout,
  routes: {
    'GET /api/scout/ip/foundation': (req) => answer(req, req.query.get('ips')),
    'GET /api/scout/search': (req) => answer(req, req.query.get('query')),
  },
  env: (vendor) => ({
    // The configured URL ends with a slash: upstream strips it, so does this connector.
    PURE_SIGNAL_SCOUT_API_URL: `${vendor.url}/api/scout/`,
    PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN,
    // The spacing is proven in the unit tests; here it would only slow the suite down.
    PURE_SIGNAL_SCOUT_RATE_LIMIT_PER_SECOND: '50',
    PURE_SIGNAL_SCOUT_MAX_RETRIES: '0',
  }),
});
beforeAll(() => bed.setup());
afterEach(() => bed.reset());
afterAll(() => bed.close());
const { start } = bed;

async function enrich(d: RunningConnector, entityId: string, mode: 'manual' | 'auto' = 'manual') {
  const workId = await bed.platform.askEnrichment(d.connectorId, entityId, { mode });
  return { workId, work: await bed.platform.waitForWork(workId, { timeoutMs: 30_000 }) };
}

const messagesOf = (work: { messages: Array<{ message: string }> }) => work.messages.map((m) => m.message).join('\n');
const errorsOf = (work: { errors: Array<{ message: string }> }) => work.errors.map((e) => e.message).join('\n');

describe('Team Cymru Scout connector end to end', () => {
  it('registers as a manual INTERNAL_ENRICHMENT for IPs and domains, playbook compatible, and enriches an IPv4', async () => {
    const d = await start();
    expect(bed.platform.connector(d.connectorId)?.registrations.at(-1)?.input).toMatchObject({
      type: 'INTERNAL_ENRICHMENT',
      name: 'TeamCymruScout',
      scope: ['IPv4-Addr', 'IPv6-Addr', 'Domain-Name'],
      auto: false,
      playbook_compatible: true,
    });
    const ip = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '1.1.1.1', markings: ['TLP:GREEN'] });
    expect(ip.standard_id).toBe(ipFoundation.objects[0]?.id);
    const { workId, work } = await enrich(d, ip.standard_id);
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(messagesOf(work)).toMatch(/Team Cymru Scout: 1\.1\.1\.1: kept 9 of 9 objects, 10 sent/);

    const objects = bed.platform.objects({ workId }).map((o) => o.object);
    expect(objects.map((o) => o.id).sort()).toEqual([...ipFoundation.objects.map((o) => o.id), AUTHOR].sort());
    const byId = new Map(objects.map((o) => [o.id, o]));
    expect(byId.get(AUTHOR)).toMatchObject({ name: 'Team Cymru', identity_class: 'organization' });
    expect(byId.get('relationship--e871fa60-c356-50e4-a358-2662b4313a98')).toMatchObject({
      relationship_type: 'based-on',
      created_by_ref: AUTHOR,
    });
    expect(byId.get('relationship--95fb815d-03be-5b1f-b6f9-83799b8ab5ee')?.relationship_type).toBe('related-to');
    expect(byId.get(ip.standard_id)).toMatchObject({ value: '1.1.1.1', x_opencti_created_by_ref: AUTHOR });

    expect(bed.vendor.requests).toHaveLength(1);
    expect(bed.vendor.requests[0]?.path).toBe('/api/scout/ip/foundation');
    expect(bed.vendor.requests[0]?.query.get('ips')).toBe('1.1.1.1');
    expect(bed.vendor.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('enriches an IPv6 address', async () => {
    const d = await start();
    const ip = bed.platform.addEntity({ entity_type: 'IPv6-Addr', value: IPV6 });
    const { workId, work } = await enrich(d, ip.standard_id);
    expect(work.status).toBe('complete');
    const objects = bed.platform.objects({ workId }).map((o) => o.object);
    expect(objects.map((o) => o.type).sort()).toEqual(
      ['autonomous-system', 'identity', 'indicator', 'ipv6-addr', 'relationship', 'relationship'].sort(),
    );
    expect(objects.find((o) => o.type === 'ipv6-addr')?.id).toBe(ip.standard_id);
    expect(
      objects
        .filter((o) => o.type === 'relationship')
        .map((o) => o.relationship_type)
        .sort(),
    ).toEqual(['based-on', 'belongs-to']);
    expect(bed.vendor.requests.map((r) => [r.path, r.query.get('ips')])).toEqual([['/api/scout/ip/foundation', IPV6]]);
  });

  it('enriches a domain through /search: 27 objects in, 17 ingested', async () => {
    const d = await start();
    const domain = bed.platform.addEntity({
      entity_type: 'Domain-Name',
      value: 'one.one.one.one',
      markings: ['TLP:AMBER'],
    });
    const { workId, work } = await enrich(d, domain.standard_id);
    expect(work.status).toBe('complete');
    expect(messagesOf(work)).toMatch(/kept 16 of 27 objects, 17 sent/);
    const objects = bed.platform.objects({ workId }).map((o) => o.object);
    expect(objects).toHaveLength(17);
    expect(objects.some((o) => o.type === 'network-traffic')).toBe(false);
    expect(objects.some((o) => String(o.value ?? '').includes('in-addr.arpa'))).toBe(false);
    expect(bed.vendor.requests.map((r) => [r.path, r.query.get('query')])).toEqual([
      ['/api/scout/search', 'one.one.one.one'],
    ]);
  });

  it('refuses a TLP:RED observable without any request to Scout', async () => {
    const d = await start();
    const ip = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '1.1.1.1', markings: ['TLP:RED'] });
    const { workId, work } = await enrich(d, ip.standard_id);
    expect(errorsOf(work)).toMatch(/TLP:RED/);
    expect(bed.platform.objects({ workId })).toEqual([]);
    expect(bed.vendor.requests).toHaveLength(0);
  });

  it('gates each entity by its own TLP: an unmarked entity after a TLP:RED one is enriched (TLP:CLEAR)', async () => {
    const d = await start();
    const red = bed.platform.addEntity({ entity_type: 'Domain-Name', value: 'one.one.one.one', markings: ['TLP:RED'] });
    const unmarked = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '8.8.8.8' });
    const first = await enrich(d, red.standard_id);
    expect(errorsOf(first.work)).toMatch(/TLP:RED/);
    expect(bed.vendor.requests).toHaveLength(0);
    const second = await enrich(d, unmarked.standard_id);
    expect(second.work.errors).toEqual([]);
    expect(bed.platform.objects({ workId: second.workId }).length).toBeGreaterThan(0);
    expect(bed.vendor.requests.map((r) => r.query.get('ips'))).toEqual(['8.8.8.8']);
    // And back: a marked entity after the unmarked one is refused again.
    const redAgain = await enrich(d, red.standard_id);
    expect(errorsOf(redAgain.work)).toMatch(/TLP:RED/);
    expect(bed.vendor.requests).toHaveLength(1);
  });

  it('reports "no intelligence found" as a success that sends nothing, also when everything is filtered out', async () => {
    const d = await start();
    const ip = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '192.0.2.1' });
    const { workId, work } = await enrich(d, ip.standard_id);
    expect(work.status).toBe('complete');
    expect(work.errors).toEqual([]);
    expect(messagesOf(work)).toMatch(/no intelligence found for 192\.0\.2\.1/);
    expect(bed.platform.objects({ workId })).toEqual([]);
    const domain = bed.platform.addEntity({ entity_type: 'Domain-Name', value: 'nothing-left.example' });
    const filtered = await enrich(d, domain.standard_id);
    expect(filtered.work.status).toBe('complete');
    expect(filtered.work.errors).toEqual([]);
    expect(messagesOf(filtered.work)).toMatch(
      /no intelligence found for nothing-left\.example \(the 2 objects returned/,
    );
    expect(bed.platform.objects({ workId: filtered.workId })).toEqual([]);
    expect(bed.platform.pushMessages(d.connectorId)).toEqual([]);
  });

  it('ends the work in error on a rejected token and on an exhausted quota, instead of "no data"', async () => {
    const d = await start({ PURE_SIGNAL_SCOUT_API_TOKEN: 'a-wrong-token-123456' });
    const ip = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '1.1.1.1' });
    const rejected = await enrich(d, ip.standard_id);
    expect(errorsOf(rejected.work)).toMatch(/Team Cymru Scout rejected the API token \(HTTP 401\)/);
    await d.stop();
    const d2 = await start();
    const limited = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '203.0.113.9' });
    const quota = await enrich(d2, limited.standard_id);
    expect(errorsOf(quota.work)).toMatch(/Team Cymru Scout quota exhausted \(HTTP 429\)/);
  });

  it('enriches automatically with CONNECTOR_AUTO=true', async () => {
    const d = await start({ CONNECTOR_AUTO: 'true' });
    expect(bed.platform.connector(d.connectorId)?.registrations.at(-1)?.input.auto).toBe(true);
    const ip = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '8.8.8.8' });
    const { workId, work } = await enrich(d, ip.standard_id, 'auto');
    expect(work.status).toBe('complete');
    expect(bed.platform.objects({ workId }).some((o) => o.object.id === AUTHOR)).toBe(true);
  });

  it('answers a playbook step with the enrichment merged into the playbook bundle', async () => {
    const d = await start();
    const ip = bed.platform.addEntity({ entity_type: 'IPv4-Addr', value: '1.1.1.1' });
    const request = await bed.platform.askPlaybook(d.connectorId, ip.standard_id);
    const step = await bed.platform.waitFor(
      () => bed.platform.playbookSteps().find((s) => s.variables.step_id === request.stepId),
      {
        timeoutMs: 30_000,
      },
    );
    const objects = (step.bundle?.objects ?? []) as Array<{ id: string; relationship_type?: string }>;
    expect(objects.map((o) => o.id).sort()).toEqual([...ipFoundation.objects.map((o) => o.id), AUTHOR].sort());
    expect(objects.find((o) => o.id === 'relationship--e871fa60-c356-50e4-a358-2662b4313a98')?.relationship_type).toBe(
      'based-on',
    );
    expect(bed.vendor.requests).toHaveLength(1);
  });

  it('never logs the token, even at debug level and on errors', async () => {
    const d = await start({ CONNECTOR_LOG_LEVEL: 'debug' });
    for (const [type, value] of [
      ['IPv4-Addr', '1.1.1.1'],
      ['Domain-Name', 'one.one.one.one'],
      ['IPv4-Addr', '192.0.2.7'],
      ['IPv4-Addr', '203.0.113.9'],
    ] as const) {
      const entity = bed.platform.addEntity({ entity_type: type, value });
      await enrich(d, entity.standard_id);
    }
    expect(bed.vendor.requests).toHaveLength(4);
    expect(d.logs.some((l) => l.includes('"level":"DEBUG"'))).toBe(true);
    expect(d.logs.some((l) => l.includes('Scout bundle filtered'))).toBe(true);
    expect(d.logs.join('\n')).not.toContain(TOKEN);
    expect(JSON.stringify(bed.platform.worksOf(d.connectorId))).not.toContain(TOKEN);
  });
});

describe('the dry run of the built connector', () => {
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [main, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        PURE_SIGNAL_SCOUT_API_TOKEN: TOKEN,
        PURE_SIGNAL_SCOUT_API_URL: `${bed.vendor.url}/api/scout`,
        CONNECTOR_LOG_LEVEL: 'debug',
      },
    });

  it('node dist/main.js enrich 8.8.8.8 prints the bundle', async () => {
    expect(existsSync(main), 'connectors/team-cymru-scout/dist/main.js is missing: run `pnpm build` first').toBe(true);
    const { stdout, stderr } = await run(['enrich', '8.8.8.8']);
    const bundle = JSON.parse(stdout) as { objects: Array<{ type: string; id: string; value?: string }> };
    assertValidStix(bundle, 'the dry-run bundle');
    expect(bundle.objects.find((o) => o.type === 'ipv4-addr')?.value).toBe('8.8.8.8');
    expect(bundle.objects[0]?.id).toBe(AUTHOR);
    expect(bundle.objects).toHaveLength(6);
    expect(timestampFormProblems(bundle)).toEqual([]);
    expect(bed.vendor.requests.map((r) => [r.path, r.query.get('ips')])).toEqual([
      ['/api/scout/ip/foundation', '8.8.8.8'],
    ]);
    expect(stderr).not.toContain(TOKEN);
  });

  it('node dist/main.js enrich example.com --type Domain-Name prints the bundle', async () => {
    const { stdout } = await run(['enrich', 'example.com', '--type', 'Domain-Name']);
    const bundle = JSON.parse(stdout) as { objects: Array<{ type: string; value?: string }> };
    assertValidStix(bundle, 'the dry-run bundle');
    expect(bundle.objects.map((o) => o.type).sort()).toEqual(['domain-name', 'identity', 'ipv4-addr', 'relationship']);
    expect(bundle.objects.find((o) => o.type === 'domain-name')?.value).toBe('example.com');
    expect(bed.vendor.requests.map((r) => [r.path, r.query.get('query')])).toEqual([
      ['/api/scout/search', 'example.com'],
    ]);
  });
});
