import { readFileSync } from 'node:fs';
import { AUTHOR_CREATED, BundleError, identityId, reportId, splitBundle, TLP_MARKING_IDS } from '@cti/connector-sdk';
import { compareWithUpstream, upstreamIdCase } from '@cti/connector-testkit';
import { describe, expect, it } from 'vitest';
import type { ReportRef } from './client.js';
import { DEFAULT_CONNECTOR_NAME } from './config.js';
import {
  type MappingOptions,
  reportObjectRefs,
  stampObject,
  teamt5Author,
  toIndicatorBundle,
  toReportBundle,
  toTeamt5Report,
} from './to-stix.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
const reportStix: Array<Record<string, unknown>> = fixture('report-stix.json').objects;
const iocStix: Array<Record<string, unknown>> = fixture('indicator-bundle-stix.json').objects;
const listing: Array<Record<string, unknown>> = fixture('reports.json').reports;

// Golden ids, computed independently of the SDK (Python: uuid5 over the canonical JSON pycti hashes; the
// report's published date as the UTC datetime upstream passes, isoformat "2025-04-11T00:00:00+00:00").
const AUTHOR = 'identity--0a1850d4-e18e-54ab-b110-34dabc56152d'; // "TeamT5 External Import Connector"
const UPSTREAM_AUTHOR = 'identity--4da37d9f-2e24-5549-9a5b-7219e5d7e056'; // "Team T5 External Import Connector"
const FLASH_REPORT = 'report--78b3b84f-1676-570d-bc2d-500520c49a1a';
const MONTHLY_REPORT = 'report--12b2946b-3908-5c63-99cc-080af242d312';
const TEAMT5_ORG = 'identity--3cf5aad5-8bb3-56e2-bb4b-f5bad8a6f41e';
const SECTOR = 'identity--2e9e8a37-09d1-5b0e-a967-66502ff4aded';
const AMBER = TLP_MARKING_IDS['TLP:AMBER'];

function refOf(raw: Record<string, unknown>): ReportRef {
  return {
    title: String(raw.title),
    alias: (raw.alias as string | undefined) ?? null,
    digest: (raw.digest as string | undefined) ?? null,
    date: Number(raw.date),
    typeName: (raw.type_name as string | undefined) ?? null,
    stixUrl: (raw.stix_url as string | undefined) ?? null,
    pdfUrl: (raw.pdf_url as string | undefined) ?? null,
  };
}

const flash = refOf(listing[0] as Record<string, unknown>);
const monthly = refOf(listing[1] as Record<string, unknown>);
const options = (tlp: MappingOptions['tlp'] = 'TLP:CLEAR'): MappingOptions => ({
  author: teamt5Author(DEFAULT_CONNECTOR_NAME),
  tlp,
});
const byId = (objects: Array<{ id: string }>) => new Map(objects.map((o) => [o.id, o as Record<string, unknown>]));

describe('the author', () => {
  it("is CONNECTOR_NAME as an organization with pycti's id", () => {
    expect(teamt5Author(DEFAULT_CONNECTOR_NAME)).toEqual({
      type: 'identity',
      spec_version: '2.1',
      id: AUTHOR,
      created: AUTHOR_CREATED,
      modified: AUTHOR_CREATED,
      name: 'TeamT5 External Import Connector',
      identity_class: 'organization',
    });
    expect(identityId(DEFAULT_CONNECTOR_NAME, 'organization')).toBe(AUTHOR);
    expect(teamt5Author('Team T5 External Import Connector').id).toBe(UPSTREAM_AUTHOR);
  });
});

describe('stampObject', () => {
  it('puts the author on observables as x_opencti_created_by_ref and appends the TLP once', () => {
    const ip = { type: 'ipv4-addr', id: 'ipv4-addr--x', value: '203.0.113.45', object_marking_refs: [AMBER] };
    expect(stampObject(ip, AUTHOR, TLP_MARKING_IDS['TLP:GREEN'])).toEqual({
      ...ip,
      x_opencti_created_by_ref: AUTHOR,
      object_marking_refs: [AMBER, TLP_MARKING_IDS['TLP:GREEN']],
    });
    expect((stampObject(ip, AUTHOR, AMBER) as Record<string, unknown>).object_marking_refs).toEqual([AMBER]);
    expect(stampObject({ type: 'hostname', id: 'hostname--h', value: 'a' }, AUTHOR, AMBER)).toHaveProperty(
      'x_opencti_created_by_ref',
      AUTHOR,
    );
  });

  it("replaces TeamT5's authorship on domain objects and leaves marking definitions untouched", () => {
    const malware = reportStix.find((o) => o.type === 'malware') as Record<string, unknown>;
    const stamped = stampObject(malware, AUTHOR, TLP_MARKING_IDS['TLP:CLEAR']) as Record<string, unknown>;
    expect(stamped.created_by_ref).toBe(AUTHOR);
    expect(stamped.object_marking_refs).toEqual([AMBER, TLP_MARKING_IDS['TLP:CLEAR']]);
    expect(malware.created_by_ref).toBe(TEAMT5_ORG); // the input is not mutated
    const marking = reportStix[0] as Record<string, unknown>;
    expect(stampObject(marking, AUTHOR, TLP_MARKING_IDS['TLP:CLEAR'])).toBe(marking);
  });
});

describe('reportObjectRefs', () => {
  it("keeps the knowledge objects, the targeted sector included, without markings nor TeamT5's own identity", () => {
    const refs = reportObjectRefs(reportStix);
    expect(refs).toHaveLength(reportStix.length - 2);
    expect(refs).toContain(SECTOR);
    expect(refs).not.toContain(TEAMT5_ORG);
    expect(refs).not.toContain(AMBER);
  });
});

describe('toReportBundle', () => {
  it('maps the first report of the listing with its downloaded bundle', () => {
    const bundle = toReportBundle(flash, reportStix, options());
    const objects = byId(bundle.objects);
    const report = objects.get(FLASH_REPORT);
    expect(report).toEqual({
      type: 'report',
      spec_version: '2.1',
      id: FLASH_REPORT,
      created: '2025-04-11T00:00:00.000Z',
      modified: '2025-04-11T00:00:00.000Z',
      created_by_ref: AUTHOR,
      name: 'Flash Report: Phishing campaign delivering a backdoor via fake software updates',
      published: '2025-04-11T00:00:00.000Z',
      object_refs: reportObjectRefs(reportStix),
      description: (listing[0] as Record<string, unknown>).digest,
      report_types: ['Flash Report'],
      external_references: [
        {
          source_name: 'Team T5',
          url: 'https://threatvision.org/reports/detail?alias=flash-2025-0412',
          description: 'PDF report from Team T5',
        },
      ],
      object_marking_refs: [TLP_MARKING_IDS['TLP:CLEAR']],
    });
    expect(reportId(flash.title, new Date(flash.date * 1000))).toBe(FLASH_REPORT);

    // Every downloaded object is there with its own id, plus the author, the TLP marking and the report.
    expect(bundle.objects).toHaveLength(reportStix.length + 3);
    for (const original of reportStix) expect(objects.has(original.id as string)).toBe(true);
    expect(objects.get(AUTHOR)).toMatchObject({ name: DEFAULT_CONNECTOR_NAME });
    expect(objects.get(TLP_MARKING_IDS['TLP:CLEAR'])).toMatchObject({
      definition_type: 'statement',
      x_opencti_definition: 'TLP:CLEAR',
    });
    for (const object of bundle.objects) {
      if (object.type === 'marking-definition' || object.id === AUTHOR) continue;
      expect(object.object_marking_refs).toContain(TLP_MARKING_IDS['TLP:CLEAR']);
      const authorKey = ['domain-name', 'ipv4-addr'].includes(object.type)
        ? 'x_opencti_created_by_ref'
        : 'created_by_ref';
      expect(object[authorKey], object.id).toBe(AUTHOR);
    }
    // TeamT5's TLP:AMBER marking definition is sent as it came.
    expect(objects.get(AMBER)).toEqual(reportStix[0]);
    // The splitter accepts it as pycti would.
    expect(splitBundle(bundle).chunks.length).toBe(bundle.objects.length);
  });

  it('links the ThreatVision page when the listing gives no PDF url, and defaults the type to "report"', () => {
    const report = toTeamt5Report(
      { ...monthly, typeName: null },
      ['malware--924d664e-e8ed-5482-9e8f-34f71d4b4ebf'],
      options(),
    );
    expect(report.id).toBe(MONTHLY_REPORT);
    expect(report.report_types).toEqual(['report']);
    expect(report.external_references).toEqual([
      {
        source_name: 'Team T5',
        url: 'https://threatvision.org/reports/detail?alias=monthly-2025-03',
        description: 'PDF report from Team T5',
      },
    ]);
    const bare = toTeamt5Report({ ...monthly, alias: null, digest: null }, ['malware--x'], options());
    expect(bare).not.toHaveProperty('external_references');
    expect(bare).not.toHaveProperty('description');
  });

  it.each([
    ['TLP:CLEAR', 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9'],
    ['TLP:GREEN', 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da'],
    ['TLP:AMBER+STRICT', 'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37'],
    ['TLP:RED', 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed'],
  ] as const)('marks everything %s with the platform id %s', (tlp, id) => {
    const bundle = toReportBundle(flash, reportStix, options(tlp));
    expect(bundle.objects.filter((o) => o.id === id)).toHaveLength(1);
    expect(byId(bundle.objects).get(FLASH_REPORT)?.object_marking_refs).toEqual([id]);
  });

  it('with TLP:AMBER keeps the one AMBER definition TeamT5 sent', () => {
    const bundle = toReportBundle(flash, reportStix, options('TLP:AMBER'));
    expect(bundle.objects.filter((o) => o.id === AMBER)).toEqual([reportStix[0]]);
    const malware = bundle.objects.find((o) => o.type === 'malware');
    expect(malware?.object_marking_refs).toEqual([AMBER]);
  });

  it('gives the same bytes for the same input (deterministic ids, no clock)', () => {
    expect(JSON.stringify(toReportBundle(flash, reportStix, options()))).toBe(
      JSON.stringify(toReportBundle(flash, structuredClone(reportStix), options())),
    );
  });
});

describe('ids equal upstream head (reference/upstream-ids.json)', () => {
  it("the first report's bundle: TeamT5's ids kept, the author, the marking and the report with upstream's ids", () => {
    const upstream = upstreamIdCase('teamt5', 'first-report');
    const { authorName, tlp } = upstream.options as { authorName: string; tlp: MappingOptions['tlp'] };
    const bundle = toReportBundle(flash, reportStix, { author: teamt5Author(authorName), tlp });
    expect(compareWithUpstream(upstream, bundle.objects)).toEqual({ missing: [], unexpected: [], notDifferent: [] });
    expect(upstream.vectors.find((v) => v.kind === 'report')?.id).toBe(FLASH_REPORT);
  });
});

describe('toIndicatorBundle', () => {
  it('pushes the objects as they come, with the author and the TLP', () => {
    const bundle = toIndicatorBundle(iocStix, options('TLP:GREEN'));
    const objects = byId(bundle.objects);
    expect(bundle.objects).toHaveLength(iocStix.length + 2);
    expect(bundle.objects.some((o) => o.type === 'report')).toBe(false);
    expect(objects.get('indicator--154ec5ec-83ea-5705-88f2-c6461553fd81')).toMatchObject({
      pattern: "[domain-name:value = 'cdn-sync.example.org']",
      created_by_ref: AUTHOR,
      object_marking_refs: [AMBER, TLP_MARKING_IDS['TLP:GREEN']],
    });
    expect(objects.get('domain-name--bbc1574b-62ca-50a9-9d1c-25de43b0caab')).toMatchObject({
      x_opencti_created_by_ref: AUTHOR,
      object_marking_refs: [TLP_MARKING_IDS['TLP:GREEN']],
    });
    expect(objects.get(AMBER)).toEqual(iocStix[0]);
  });
});

describe('a broken download is refused whole, naming the problems', () => {
  const malware = reportStix.find((o) => o.type === 'malware') as Record<string, unknown>;
  const relationship = reportStix.find((o) => o.type === 'relationship') as Record<string, unknown>;

  it.each([
    ['an object without id', [malware, { type: 'tool', name: 'x' }], /objects\[1\]/],
    [
      'a dangling reference',
      [malware, relationship],
      /relationship--6fe8c22f-07f6-58a8-9dd9-06730599124d\.source_ref: dangling reference to threat-actor--/,
    ],
    [
      'one id with two contents',
      [malware, { ...malware, name: 'Other' }],
      /malware--924d664e-e8ed-5482-9e8f-34f71d4b4ebf: present several times with different content/,
    ],
    ['something that is not an object', [malware, 'oops'], /objects\[1\]/],
  ])('%s', (_what, objects, problem) => {
    for (const build of [
      () => toReportBundle(flash, objects, options()),
      () => toIndicatorBundle(objects, options()),
    ]) {
      let err: unknown;
      try {
        build();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BundleError);
      expect((err as BundleError).message).toMatch(/The STIX bundle is invalid/);
      expect((err as BundleError).problems.join('\n')).toMatch(problem);
    }
  });

  it('an empty bundle, or a report bundle with nothing but markings', () => {
    expect(() => toIndicatorBundle([], options())).toThrow(/has no objects/);
    expect(() => toReportBundle(flash, [], options())).toThrow(/has no objects/);
    expect(() => toReportBundle(flash, reportStix.slice(0, 1), options())).toThrow(/no knowledge object/);
  });

  it('names at most ten problems', () => {
    const broken = Array.from({ length: 12 }, (_, i) => ({ type: 'tool', name: `t${i}` }));
    const err = (() => {
      try {
        toIndicatorBundle(broken, options());
      } catch (e) {
        return e as BundleError;
      }
      throw new Error('expected a BundleError');
    })();
    expect(err.problems).toHaveLength(11);
    expect(err.problems.at(-1)).toBe('… 2 more');
  });

  it('a reference to a fixed TLP marking TeamT5 did not include is not dangling', () => {
    const bundle = toIndicatorBundle([{ ...malware, object_marking_refs: [TLP_MARKING_IDS['TLP:RED']] }], options());
    expect(bundle.objects.map((o) => o.id)).toContain(TLP_MARKING_IDS['TLP:RED']);
  });
});
