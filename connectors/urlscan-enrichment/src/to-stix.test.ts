import { readFileSync } from 'node:fs';
import {
  AttachmentError,
  identityId,
  indicatorId,
  noteId,
  OPENCTI_SCO_EXTENSION,
  observableId,
  relationshipId,
  TLP_MARKING_IDS,
  toEnrichmentEntity,
  validateBundle,
} from '@cti/connector-sdk';
import { compareWithUpstream, upstreamIdCase } from '@cti/connector-testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resultSchema, type ScanResult, type SearchHit, searchSchema } from './client.js';
import {
  ipNoteId,
  ipSearchPageUrl,
  MAX_IP_DOMAINS,
  MAX_IP_SCANS,
  summarizeIpSearch,
  toIpSearchBundle,
} from './ip-to-stix.js';
import {
  AUTHOR_NAME,
  contactedHostnames,
  contactedIps,
  MAX_CONTACTED_HOSTNAMES,
  MAX_CONTACTED_IPS,
  type MappingOptions,
  md,
  noteContent,
  resultPageUrl,
  scanNoteId,
  scannedIps,
  screenshotFileName,
  summarizeVerdicts,
  toStixBundle,
  urlscanLabels,
  withScreenshot,
} from './to-stix.js';

const fixture = (name: string): ScanResult =>
  resultSchema.parse(JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8')));
const malicious = fixture('result-malicious.json');
const benign = fixture('result.json');
const failed = fixture('result-failed.json');

// Golden ids, computed independently of the SDK (Python: uuid5 over the canonical JSON pycti hashes).
const PHISH_URL = 'https://office365-login.example.net/common/oauth2/authorize';
const URL_ID = 'url--8fc1a5d4-f308-5533-a929-a69bf66ec508';
const AUTHOR = 'identity--f8b09040-4d2b-5138-8c07-e7af17666f3f';
const DOMAIN = 'domain-name--4b026fa7-b882-552f-bdf6-e1cc34bc55b8';
const IP4 = 'ipv4-addr--570130c0-7daf-5d1e-992f-58b53b447312';
const IP6 = 'ipv6-addr--b7b5453e-3c50-5e2e-a8f9-538df72abf4a';
const AS64500 = 'autonomous-system--0a5f7072-df00-5729-9f0a-4eb18631a446';
const URL_TO_DOMAIN = 'relationship--b3300912-d2b8-554f-880c-982027d5b02f';
const URL_TO_IP = 'relationship--df2c4bab-0850-5257-bdeb-ddc7fda83c0e';
const IP_TO_AS = 'relationship--8a1582b7-e7cc-5ed1-ad99-71f7f14b75f7';
const INDICATOR = 'indicator--6190c5f7-442d-5922-97bd-6fac05e26ae0';
const BASED_ON = 'relationship--78759848-d5d8-5a4f-ad0e-fad98e6e380c';
const NOTE = 'note--9d1e3df1-659f-5614-a37a-173638775f01';
const TECHNOLOGY = 'identity--61f9042c-ca81-5e22-9155-c9851e3ebe87';
const MICROSOFT = 'identity--04c0e399-d37b-5be4-9c06-f1df88206cd0';
const DOMAIN_RESOLVES_IP4 = 'relationship--ed5ae64d-17c8-58aa-8332-2fe9c6f46c81';
const DOMAIN_RESOLVES_IP6 = 'relationship--a3d415b5-e704-517c-953a-fc0340b4caf6';
const DOMAIN_INDICATOR = 'indicator--7afd0407-527e-559c-8748-d908fe8bfdc3';

const AMBER = TLP_MARKING_IDS['TLP:AMBER'];
const PAP = 'marking-definition--2c3a9a44-1b35-5bcb-8c8e-4b8b8ad0b1a0';

/** An observable as the platform hands it over: GraphQL form, and the STIX form with OpenCTI's SCO extension. */
function observable(entityType: 'Url' | 'Domain-Name' | 'Hostname' | 'IPv4-Addr' | 'IPv6-Addr', value: string) {
  const type = entityType.toLowerCase();
  const id = observableId(type, { value });
  return toEnrichmentEntity(
    {
      id: '7d0e0b5e-4f7a-4cf0-9a35-2a7f3b8d9c01',
      standard_id: id,
      entity_type: entityType,
      observable_value: value,
      objectMarking: [
        { standard_id: AMBER, definition_type: 'TLP', definition: 'TLP:AMBER' },
        { standard_id: PAP, definition_type: 'PAP', definition: 'PAP:AMBER' },
      ],
      objectLabel: [{ value: 'phishing-campaign' }],
    },
    {
      type,
      id,
      spec_version: '2.1',
      value,
      object_marking_refs: [AMBER, PAP],
      extensions: {
        [OPENCTI_SCO_EXTENSION]: {
          extension_type: 'property-extension',
          labels: ['phishing-campaign'],
          external_references: [{ source_name: 'analyst', url: 'https://intranet.example/case/42' }],
        },
      },
    },
  );
}

const options: MappingOptions = { confidence: 60, createIndicator: true, now: new Date('2026-03-02T10:00:00.000Z') };
const byId = (objects: Array<{ id: string }>) => new Map(objects.map((o) => [o.id, o as Record<string, unknown>]));

describe('toStixBundle: a malicious Url', () => {
  const entity = observable('Url', PHISH_URL);
  const bundle = toStixBundle(entity, malicious, options);
  const objects = byId(bundle.objects);

  it('uses the ids pycti and stix2 compute', () => {
    expect(entity.id).toBe(URL_ID);
    expect(AUTHOR).toBe(identityId(AUTHOR_NAME, 'organization'));
    expect(INDICATOR).toBe(indicatorId(`[url:value = '${PHISH_URL}']`));
    expect(URL_TO_DOMAIN).toBe(relationshipId('related-to', URL_ID, DOMAIN));
    expect(NOTE).toBe(noteId(`URLScan.io Analysis Results ${resultPageUrl('4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71')}`));
    for (const id of [AUTHOR, DOMAIN, IP4, AS64500, URL_TO_DOMAIN, URL_TO_IP, IP_TO_AS, INDICATOR, BASED_ON, NOTE]) {
      expect(objects.has(id), id).toBe(true);
    }
    expect(objects.has(TECHNOLOGY)).toBe(true);
    expect(objects.has(MICROSOFT)).toBe(true);
  });

  it('has the author first, the URLScan.io organization', () => {
    expect(bundle.objects[0]).toMatchObject({
      id: AUTHOR,
      type: 'identity',
      name: 'URLScan.io',
      identity_class: 'organization',
    });
  });

  it('re-sends the observable with the labels and the result page, where pycti reads them', () => {
    const url = objects.get(URL_ID) as Record<string, unknown>;
    // Ours, then the official connector's server labels (the one kind of its labels that adds something).
    const labels = [
      'phishing-campaign',
      'urlscan',
      'malicious',
      'microsoft',
      'phishing',
      'urlscan: nginx',
      'urlscan: cloudflare',
    ];
    const refs = [
      { source_name: 'analyst', url: 'https://intranet.example/case/42' },
      {
        source_name: 'URLScan.io',
        url: 'https://urlscan.io/result/4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71/',
        external_id: '4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71',
        description: 'urlscan.io scan result',
      },
    ];
    expect(url.x_opencti_labels).toEqual(labels);
    expect(url.x_opencti_external_references).toEqual(refs);
    // pycti prefers the extension over x_opencti_*: it holds the same merged lists.
    const extension = (url.extensions as Record<string, Record<string, unknown>>)[OPENCTI_SCO_EXTENSION];
    expect(extension?.labels).toEqual(labels);
    expect(extension?.external_references).toEqual(refs);
    expect(url.object_marking_refs).toEqual([AMBER, PAP]);
    // The entity itself is not modified.
    expect(entity.stix.x_opencti_labels).toBeUndefined();
  });

  it('relates the URL to its page domain and its address, and the address to its AS', () => {
    expect(objects.get(DOMAIN)).toMatchObject({ type: 'domain-name', value: 'office365-login.example.net' });
    expect(objects.get(URL_TO_DOMAIN)).toMatchObject({ source_ref: URL_ID, target_ref: DOMAIN });
    expect(objects.get(IP4)).toMatchObject({ value: '203.0.113.10', x_opencti_created_by_ref: AUTHOR });
    expect(objects.get(URL_TO_IP)).toMatchObject({
      relationship_type: 'related-to',
      source_ref: URL_ID,
      target_ref: IP4,
    });
    // Named by its number, as the official connector names it; urlscan's name for it as its description.
    expect(objects.get(AS64500)).toMatchObject({
      number: 64500,
      name: 'AS64500',
      x_opencti_description: 'EXAMPLE-HOSTING-AS, NL',
    });
    expect(objects.get(IP_TO_AS)).toMatchObject({
      relationship_type: 'belongs-to',
      source_ref: IP4,
      target_ref: AS64500,
    });
    // The URL is related to the addresses of its page's host only: the third-party CDN is not the URL's.
    const urlToIps = bundle.objects.filter((o) => o.source_ref === URL_ID && String(o.target_ref).startsWith('ipv'));
    expect(urlToIps.map((o) => o.target_ref)).toEqual([IP4, IP6]);
  });

  it('maps every address the page contacted with its AS, and the other hosts as the official connector does', () => {
    const cdnIp = observableId('ipv4-addr', { value: '198.51.100.7' });
    const cdnHost = observableId('hostname', { value: 'cdn.example.org' });
    expect(objects.get(cdnIp)).toMatchObject({ value: '198.51.100.7' });
    expect(
      objects.get(relationshipId('belongs-to', cdnIp, observableId('autonomous-system', { number: 64502 }))),
    ).toBeDefined();
    expect(objects.get(cdnHost)).toMatchObject({ type: 'hostname', value: 'cdn.example.org' });
    expect(objects.get(relationshipId('related-to', URL_ID, cdnHost))).toBeDefined();
    expect(objects.get(relationshipId('resolves-to', cdnHost, cdnIp))).toBeDefined();
    // No hostname for the URL's own host (it is the Domain-Name already).
    expect([...objects.values()].filter((o) => o.type === 'hostname').map((o) => o.value)).toEqual(['cdn.example.org']);
  });

  it('bounds the contacted addresses and hostnames however many urlscan lists', () => {
    const heavy = resultSchema.parse({
      ...JSON.parse(readFileSync(new URL('../test/fixtures/result-malicious.json', import.meta.url), 'utf8')),
      stats: {
        ipStats: Array.from({ length: 300 }, (_, i) => ({
          ip: `10.${Math.floor(i / 250)}.${i % 250}.1`,
          domains: [`h${i}.example.com`, `alt${i}.example.com`],
          asn: { asn: String(64512 + i) },
        })),
      },
    });
    expect(contactedIps(heavy)).toHaveLength(MAX_CONTACTED_IPS + 1); // and the page's own address
    expect(contactedHostnames('Url', PHISH_URL, heavy)).toHaveLength(MAX_CONTACTED_HOSTNAMES);
    const big = toStixBundle(entity, heavy, options);
    expect(big.objects.filter((o) => o.type === 'hostname')).toHaveLength(MAX_CONTACTED_HOSTNAMES);
  });

  it('relates the URL to the targeted brand and its sector', () => {
    expect(objects.get(MICROSOFT)).toMatchObject({ name: 'Microsoft', identity_class: 'organization' });
    expect(objects.get(TECHNOLOGY)).toMatchObject({ name: 'Technology', identity_class: 'class' });
    expect(objects.has(relationshipId('related-to', URL_ID, MICROSOFT))).toBe(true);
    expect(objects.has(relationshipId('related-to', URL_ID, TECHNOLOGY))).toBe(true);
  });

  it('creates an Indicator based-on the URL from the malicious verdict', () => {
    expect(objects.get(INDICATOR)).toMatchObject({
      pattern: `[url:value = '${PHISH_URL}']`,
      pattern_type: 'stix',
      name: PHISH_URL,
      indicator_types: ['malicious-activity'],
      valid_from: '2025-03-04T09:12:45.123Z',
      x_opencti_main_observable_type: 'Url',
      x_opencti_score: 100,
      created_by_ref: AUTHOR,
    });
    expect(objects.get(BASED_ON)).toMatchObject({ source_ref: INDICATOR, target_ref: URL_ID });
  });

  it('writes the analysis note, dated at the scan', () => {
    expect(objects.get(NOTE)).toMatchObject({
      abstract: 'URLScan.io Analysis Results',
      object_refs: [URL_ID],
      created: '2025-03-04T09:12:45.123Z',
      confidence: 60,
    });
    const content = String(objects.get(NOTE)?.content);
    expect(content).toContain('| Overall | yes | 100 | categories: phishing; tags: phishing |');
    expect(content).toContain('| urlscan.io | yes | 100 | categories: phishing; brands: Microsoft |');
    expect(content).toContain('| Community | n/a | 0 | 0 of 0 votes malicious |');
    expect(content).toContain('| Engines | no | 0 | 0 of 0 engines malicious |');
    expect(content).toContain('- **Brands**: Microsoft');
    expect(content).toContain('- **Sectors**: Technology');
    expect(content).toContain('| Title | Sign in to your account |');
    expect(content).toContain('| ASN | AS64500 \\(EXAMPLE-HOSTING-AS, NL\\) |');
    expect(content).toContain('| TLS validity | 89 days \\(certificate 2 days old at scan time\\) |');
    expect(content).toContain('| Redirects | off-domain |');
    expect(content).toContain('at 2025-03-04T09:12:45.123Z (api, public)');
  });

  it("carries the observable's markings and the confidence on everything but the author", () => {
    for (const o of bundle.objects) {
      if (o.id === AUTHOR || o.type === 'marking-definition') continue;
      expect(o.object_marking_refs, o.id).toEqual(expect.arrayContaining([AMBER, PAP]));
      if (!['url', 'domain-name', 'hostname', 'ipv4-addr', 'ipv6-addr', 'autonomous-system'].includes(o.type)) {
        expect(o.confidence, o.id).toBe(60);
        expect(o.created_by_ref, o.id).toBe(AUTHOR);
      }
    }
    expect(bundle.objects.find((o) => o.type === 'marking-definition')?.id).toBe(AMBER);
    expect(bundle.objects.some((o) => o.id === TLP_MARKING_IDS['TLP:CLEAR'])).toBe(false);
    expect(validateBundle(bundle, { external: [URL_ID, PAP] })).toEqual([]);
  });

  it('is the same bundle on another day, and without the indicator when disabled', () => {
    const later = toStixBundle(entity, malicious, { ...options, now: new Date('2027-01-01T00:00:00.000Z') });
    expect(later.objects.map((o) => o.id)).toEqual(bundle.objects.map((o) => o.id));
    const noIndicator = toStixBundle(entity, malicious, { ...options, createIndicator: false });
    expect(noIndicator.objects.some((o) => o.type === 'indicator')).toBe(false);
  });
});

describe('ids equal upstream head (reference/upstream-ids.json)', () => {
  it('a malicious Url: what both upstream connectors make, with their ids, but the declared differences', () => {
    const upstream = upstreamIdCase('urlscan-enrichment', 'malicious-url');
    const entity = observable('Url', PHISH_URL);
    expect(entity.id).toBe(upstream.entity?.id);
    const bundle = toStixBundle(entity, malicious, { ...options, ...(upstream.options as Partial<MappingOptions>) });
    expect(compareWithUpstream(upstream, bundle.objects)).toEqual({ missing: [], unexpected: [], notDifferent: [] });
  });

  it.each([
    ['malicious-hostname', 'Hostname'],
    ['malicious-domain', 'Domain-Name'],
  ] as const)('%s: every official object for the same result, but the declared differences', (name, type) => {
    const upstream = upstreamIdCase('urlscan-enrichment', name);
    const entity = observable(type, upstream.entity?.value ?? '');
    expect(entity.id).toBe(upstream.entity?.id);
    const bundle = toStixBundle(entity, malicious, { ...options, ...(upstream.options as Partial<MappingOptions>) });
    expect(compareWithUpstream(upstream, bundle.objects)).toEqual({ missing: [], unexpected: [], notDifferent: [] });
    for (const { id } of upstream.ours_only ?? [])
      expect(
        bundle.objects.some((o) => o.id === id),
        id,
      ).toBe(true);
  });

  it('ip-search: the official object (the address re-sent), with the search link', () => {
    const upstream = upstreamIdCase('urlscan-enrichment', 'ip-search');
    const entity = observable('IPv4-Addr', upstream.entity?.value ?? '');
    expect(entity.id).toBe(upstream.entity?.id);
    const hits = searchSchema.parse(
      JSON.parse(readFileSync(new URL('../test/fixtures/search-ip.json', import.meta.url), 'utf8')),
    );
    const bundle = toIpSearchBundle(entity, hits.results, hits.total, {
      confidence: 60,
      dateFilter: '>now-1y',
      now: options.now,
    });
    expect(compareWithUpstream(upstream, bundle.objects)).toEqual({ missing: [], unexpected: [], notDifferent: [] });
  });
});

describe('toStixBundle: a Domain-Name', () => {
  it('resolves to the IPv4 and IPv6 addresses urlscan saw serving that domain, not the third party', () => {
    const entity = observable('Domain-Name', 'office365-login.example.net');
    const objects = byId(toStixBundle(entity, malicious, options).objects);
    expect(entity.id).toBe(DOMAIN);
    expect(objects.get(DOMAIN_RESOLVES_IP4)).toMatchObject({ relationship_type: 'resolves-to', target_ref: IP4 });
    expect(objects.get(DOMAIN_RESOLVES_IP6)).toMatchObject({ relationship_type: 'resolves-to', target_ref: IP6 });
    expect(objects.get(IP6)).toMatchObject({ type: 'ipv6-addr', value: '2001:db8::10' });
    // The third party's address is there (the page contacted it), but the domain does not resolve to it.
    const cdnIp = observableId('ipv4-addr', { value: '198.51.100.7' });
    expect(objects.has(cdnIp)).toBe(true);
    expect(objects.has(relationshipId('resolves-to', DOMAIN, cdnIp))).toBe(false);
    expect(objects.get(DOMAIN_INDICATOR)).toMatchObject({
      pattern: "[domain-name:value = 'office365-login.example.net']",
      x_opencti_main_observable_type: 'Domain-Name',
    });
    // No Url → Domain link for a domain, and the domain is not duplicated.
    expect([...objects.values()].filter((o) => o.type === 'domain-name')).toHaveLength(1);
  });

  it('links no address when the scan is of another site that only contacted the domain', () => {
    expect(scannedIps('Domain-Name', 'cdn.example.org', malicious).map((s) => s.ip)).toEqual(['198.51.100.7']);
    expect(scannedIps('Domain-Name', 'unrelated.example', malicious)).toEqual([]);
  });
});

describe('toStixBundle: other results', () => {
  it('maps the real benign result: no indicator, labels just "urlscan", page address and AS', () => {
    const entity = observable('Url', 'https://s.mapleleafjobs.net/f/a/x');
    const bundle = toStixBundle(entity, benign, options);
    const objects = byId(bundle.objects);
    expect(bundle.objects.some((o) => o.type === 'indicator')).toBe(false);
    expect(objects.get(entity.id)?.x_opencti_labels).toEqual(['phishing-campaign', 'urlscan', 'urlscan: Apache']);
    expect(objects.get(observableId('domain-name', { value: 'mapleleafjobs.net' }))).toBeDefined();
    expect(objects.get(observableId('ipv4-addr', { value: '18.214.176.230' }))).toBeDefined();
    expect(objects.get(observableId('autonomous-system', { number: 14618 }))).toMatchObject({
      name: 'AS14618',
      x_opencti_description: 'AMAZON-AES, US',
    });
    expect(objects.get(scanNoteId('105d1aac-ccc0-4393-b421-da95bd4faafd'))?.content).toContain(
      '| Overall | no | 0 |  |',
    );
  });

  it('maps the real failed scan: no address, a note saying the page did not load', () => {
    const bundle = toStixBundle(observable('Url', 'http://capitalne.com'), failed, options);
    expect(bundle.objects.map((o) => o.type).sort()).toEqual([
      'domain-name',
      'identity',
      'marking-definition',
      'note',
      'relationship',
      'url',
    ]);
    expect(String(bundle.objects.find((o) => o.type === 'note')?.content)).toContain('| Domain | capitalne.com |');
  });

  it("dates the note and indicator with the scan time in the one STIX form, or the enrichment's time", () => {
    const cases: Array<[string | undefined, string]> = [
      ['2025-03-04T09:12:45.123Z', '2025-03-04T09:12:45.123Z'],
      ['2025-03-04T10:12:45+01:00', '2025-03-04T09:12:45.000Z'],
      // Not an RFC 3339 instant: the enrichment's own time, rather than failing or sending it as it is.
      ['Tue, 04 Mar 2025 09:12:45 GMT', options.now.toISOString()],
      ['2025-02-30T09:12:45Z', options.now.toISOString()],
      ['soon', options.now.toISOString()],
      [undefined, options.now.toISOString()],
    ];
    for (const [time, expected] of cases) {
      const result = resultSchema.parse({ ...malicious, task: { ...malicious.task, time } });
      const bundle = toStixBundle(observable('Url', PHISH_URL), result, options);
      expect(bundle.objects.find((o) => o.type === 'note')?.created, String(time)).toBe(expected);
      expect(bundle.objects.find((o) => o.type === 'indicator')?.valid_from, String(time)).toBe(expected);
    }
  });

  it('types an IPv6 page address as IPv6-Addr (the community connector made it IPv4-Addr)', () => {
    const v6 = resultSchema.parse({
      ...malicious,
      page: { ...malicious.page, ip: '2a06:98c1:3120::3', asn: 'AS13335' },
    });
    const objects = byId(toStixBundle(observable('Url', PHISH_URL), v6, options).objects);
    const ip = observableId('ipv6-addr', { value: '2a06:98c1:3120::3' });
    expect(objects.get(ip)).toMatchObject({ type: 'ipv6-addr' });
    expect(objects.has(relationshipId('related-to', URL_ID, ip))).toBe(true);
    expect(objects.has(observableId('autonomous-system', { number: 13335 }))).toBe(true);
  });

  it('escapes the STIX pattern of a value with a quote', () => {
    const odd = "https://evil.example/it's\\here";
    const bundle = toStixBundle(observable('Url', odd), malicious, options);
    expect(bundle.objects.find((o) => o.type === 'indicator')?.pattern).toBe(
      "[url:value = 'https://evil.example/it\\'s\\\\here']",
    );
  });
});

describe('verdicts, labels and Markdown', () => {
  it('merges the overall and urlscan verdicts; brands as labels in the community form', () => {
    const summary = summarizeVerdicts(malicious);
    expect(summary).toEqual({
      malicious: true,
      score: 100,
      brands: ['Microsoft'],
      sectors: ['Technology'],
      categories: ['phishing'],
    });
    expect(urlscanLabels({ ...summary, brands: ['Bank of America', 'microsoft'] })).toEqual([
      'urlscan',
      'malicious',
      'bank-of-america',
      'microsoft',
      'phishing',
    ]);
    expect(urlscanLabels(summarizeVerdicts(benign))).toEqual(['urlscan']);
  });

  it("neutralises Markdown and line breaks in the scan's own text (page titles are the attacker's)", () => {
    expect(md('Login | [click](javascript:alert(1))\n# Title <img src=x>')).toBe(
      'Login \\| \\[click\\]\\(javascript:alert\\(1\\)\\) \\# Title \\<img src=x\\>',
    );
    const hostile = resultSchema.parse({ ...malicious, page: { ...malicious.page, title: 'a|b\n| x | y |' } });
    const content = noteContent(hostile, summarizeVerdicts(hostile));
    expect(content).toContain('| Title | a\\|b \\| x \\| y \\| |');
  });
});

describe('toStixBundle: a Hostname, searched like a Domain-Name', () => {
  it('resolves to the addresses that served it, with a hostname indicator when malicious', () => {
    const entity = observable('Hostname', 'office365-login.example.net');
    const objects = byId(toStixBundle(entity, malicious, options).objects);
    expect(entity.id).toBe(observableId('hostname', { value: 'office365-login.example.net' }));
    expect(objects.get(relationshipId('resolves-to', entity.id, IP4))).toMatchObject({ source_ref: entity.id });
    expect(objects.get(relationshipId('resolves-to', entity.id, IP6))).toMatchObject({ target_ref: IP6 });
    const indicator = [...objects.values()].find((o) => o.type === 'indicator');
    expect(indicator).toMatchObject({
      pattern: "[hostname:value = 'office365-login.example.net']",
      x_opencti_main_observable_type: 'Hostname',
    });
    expect(
      validateBundle(
        { type: 'bundle', id: 'bundle--0b6b6f55-3c59-4b1c-9d6d-1c5c1f9e3b41', objects: [...objects.values()] } as never,
        { external: [entity.id, PAP] },
      ),
    ).toEqual([]);
  });
});

describe('toIpSearchBundle: an address from its search hits', () => {
  const IP = '203.0.113.10';
  const hits = searchSchema.parse(
    JSON.parse(readFileSync(new URL('../test/fixtures/search-ip.json', import.meta.url), 'utf8')),
  );
  const entity = observable('IPv4-Addr', IP);
  const ipOptions = { confidence: 60, dateFilter: '>now-1y', now: options.now };
  const bundle = toIpSearchBundle(entity, hits.results, hits.total, ipOptions);
  const objects = byId(bundle.objects);

  it("links the official connector's search page from the observable, and keeps its id", () => {
    expect(entity.id).toBe(IP4);
    const re = objects.get(IP4) as {
      x_opencti_external_references: Array<{ url: string }>;
      x_opencti_labels: string[];
    };
    expect(re.x_opencti_external_references.map((r) => r.url)).toContain(
      'https://urlscan.io/search#ip%3A203.0.113.10%20AND%20date%3A%3Enow-1y',
    );
    expect(decodeURIComponent(ipSearchPageUrl(IP, '>now-1y').split('#')[1] ?? '')).toBe(
      'ip:203.0.113.10 AND date:>now-1y',
    );
    expect(ipSearchPageUrl(IP, null)).toBe('https://urlscan.io/search#ip%3A203.0.113.10');
    expect(re.x_opencti_labels).toEqual(['phishing-campaign', 'urlscan']);
  });

  it('relates the page domains: resolves-to when the page was served from the address, else related-to', () => {
    const phish = observableId('domain-name', { value: 'office365-login.example.net' });
    const shop = observableId('domain-name', { value: 'shop.example.com' });
    expect(objects.get(relationshipId('resolves-to', phish, IP4))).toBeDefined();
    expect(objects.get(relationshipId('related-to', shop, IP4))).toMatchObject({
      description: 'urlscan.io: a page on shop.example.com loaded content from 203.0.113.10',
    });
    // The bare-address scan gives no domain.
    expect([...objects.values()].filter((o) => o.type === 'domain-name').map((o) => o.value)).toEqual([
      'office365-login.example.net',
      'shop.example.com',
    ]);
  });

  it('lists the newest scans with their verdicts in one note per address', () => {
    const note = objects.get(ipNoteId(IP)) as { content: string; created: string; object_marking_refs: string[] };
    expect(note.content).toContain('1 with a malicious verdict');
    expect(note.content).toMatch(/office365-login\.example\.net.*\| yes \| malicious \(100\) \|/);
    expect(note.content).toMatch(/shop\.example\.com.*\| no \| not malicious \(0\) \|/);
    expect(note.content).toMatch(/http:\/\/203\.0\.113\.10\/.*\| 404 \| yes \| n\/a \|/);
    expect(note.created).toBe('2025-03-04T09:12:45.123Z');
    expect(note.object_marking_refs).toEqual([AMBER, PAP]);
    expect(validateBundle(bundle, { external: [IP4, PAP] })).toEqual([]);
  });

  it('bounds the domains and the scans however many hits urlscan returns', () => {
    const many = Array.from(
      { length: 200 },
      (_, i) =>
        searchSchema.parse({
          results: [
            {
              _id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
              task: { time: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() },
              page: { domain: `site${i}.example`, ip: IP },
            },
          ],
        }).results[0] as SearchHit,
    );
    const summary = summarizeIpSearch(IP, many);
    expect(summary.scans).toHaveLength(MAX_IP_SCANS);
    expect(summary.domains).toHaveLength(MAX_IP_DOMAINS);
    expect(summary.domains[0]?.domain).toBe('site199.example'); // newest first
  });

  it('an IPv6 address is an IPv6-Addr, searched and linked in lower case', () => {
    const v6 = observable('IPv6-Addr', '2001:db8::10');
    const b = toIpSearchBundle(v6, hits.results, 3, { ...ipOptions, dateFilter: null });
    expect(b.objects.find((o) => o.id === v6.id)?.type).toBe('ipv6-addr');
    expect(validateBundle(b, { external: [v6.id, PAP] })).toEqual([]);
  });
});

describe('the screenshot', () => {
  const PNG_BYTES = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  const entity = observable('Url', PHISH_URL);

  it('is named as the official connector names it: title with - for spaces, _uuid.png', () => {
    expect(screenshotFileName(malicious)).toBe('Sign-in-to-your-account_4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71.png');
    expect(screenshotFileName(benign)).toBe('105d1aac-ccc0-4393-b421-da95bd4faafd.png');
  });

  it('gets a file name for any page title, however hostile (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (title) => {
        const result = { ...malicious, page: { ...malicious.page, title } };
        const bundle = withScreenshot(toStixBundle(entity, result, options), entity.id, result, PNG_BYTES, 1024);
        const files = bundle.objects.find((o) => o.id === entity.id)?.x_opencti_files as Array<{ name: string }>;
        expect(files).toHaveLength(1);
        expect(files[0]?.name).toMatch(
          /_4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71\.png$|^4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71\.png$/,
        );
        const name = files[0]?.name ?? '';
        expect([...name].some((c) => c.charCodeAt(0) < 0x20 || c === '/' || c === '\\')).toBe(false);
      }),
    );
  });

  it('is attached to the observable only, and refused when it is not a PNG or over the cap', () => {
    const bundle = toStixBundle(entity, malicious, options);
    const shot = withScreenshot(bundle, entity.id, malicious, PNG_BYTES, 1024);
    expect(shot.objects.filter((o) => 'x_opencti_files' in o).map((o) => o.id)).toEqual([entity.id]);
    expect(validateBundle(shot, { external: [URL_ID, PAP] })).toEqual([]);
    const html = new TextEncoder().encode('<html>Access denied</html>');
    expect(() => withScreenshot(bundle, entity.id, malicious, html, 1024)).toThrow(AttachmentError);
    expect(() => withScreenshot(bundle, entity.id, malicious, PNG_BYTES, 8)).toThrow(/over the 8 bytes accepted/);
  });
});
