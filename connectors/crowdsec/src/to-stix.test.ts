import { readFileSync } from 'node:fs';
import {
  attackPatternId,
  generateId,
  indicatorId,
  locationId,
  relationshipId,
  TLP_MARKING_IDS,
  toEnrichmentEntity,
  vulnerabilityId,
} from '@cti/connector-sdk';
import { compareWithUpstream, upstreamIdCases } from '@cti/connector-testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SmokeAnswer, smokeSchema } from './client.js';
import {
  crowdsecLabels,
  FAKE_INDICATOR_ID,
  isoInstant,
  type MappingOptions,
  refreshDescription,
  toStixBundle,
} from './to-stix.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
const cti: SmokeAnswer = smokeSchema.parse(fixture('smoke-ip-146.70.186.190.json'));

// Golden ids, computed independently of the SDK (Python: uuid5 over the canonical JSON pycti hashes).
const OBSERVABLE = 'ipv4-addr--06d36f46-e6d1-557f-a527-f1cc701617cc';
const CROWDSEC = 'identity--5f18c204-0a7f-5061-a146-d29561d9c8aa';
// The observable's sightings: connectors#2863's argument order (sighted object first, sighter as a bare id).
const CROWDSEC_SIGHTING = 'sighting--1d3366e4-73bb-52c9-8b47-9af1f723ddab';
const CROWDSEC_INDICATOR_SIGHTING = 'sighting--1adbfff8-d9d5-5538-a7ed-abe3f1943b9d';
const US = 'location--be4ee2db-ecdd-5acf-a5e1-ce03ef2ec91d';
const US_SIGHTING = 'sighting--06219441-e85d-58eb-a7c3-232bb9648967';
const US_INDICATOR_SIGHTING = 'sighting--a5c43e74-bf9e-5498-b6fd-6a3e8dd66fce';
const INDICATOR = 'indicator--94c598e8-9174-58e0-9731-316e18f26916';
// pycti 7 hashes the MITRE id lower-cased ({"x_mitre_id":"t1110"}).
const T1110 = 'attack-pattern--c5baca20-73a4-5bd9-b406-6ec05ed2de96';

const entity = toEnrichmentEntity(
  {
    id: '06985ff3-55cd-4a64-89ad-5fe297256584',
    standard_id: OBSERVABLE,
    entity_type: 'IPv4-Addr',
    observable_value: '146.70.186.190',
    objectMarking: [{ standard_id: TLP_MARKING_IDS['TLP:AMBER'], definition_type: 'TLP', definition: 'TLP:AMBER' }],
    objectLabel: [{ value: 'existing-label' }],
  },
  {
    type: 'ipv4-addr',
    id: OBSERVABLE,
    spec_version: '2.1',
    value: '146.70.186.190',
    object_marking_refs: [TLP_MARKING_IDS['TLP:AMBER']],
    x_opencti_labels: ['existing-label'],
  },
);

/** The upstream code defaults. */
const defaults: MappingOptions = {
  authorName: 'CrowdSec',
  authorDescription: 'Curated Threat Intelligence Powered by the Crowd',
  confidence: 75,
  indicatorCreateFrom: [],
  attackPatternsFromMitre: false,
  vulnerabilitiesFromCves: true,
  targetedCountriesSightings: true,
  createSighting: true,
  createNote: false,
  labels: { scenarioName: true, scenarioLabel: true, cve: false, mitre: false, behavior: false, reputation: false },
  description: null,
  now: new Date('2024-05-01T10:00:00.000Z'),
};

const byId = (objects: Array<{ id: string }>) => new Map(objects.map((o) => [o.id, o as Record<string, unknown>]));

describe('toStixBundle (CrowdSec)', () => {
  it('maps the real CTI answer with the upstream defaults, with pycti ids', () => {
    const bundle = toStixBundle(entity, cti, defaults);
    const objects = byId(bundle.objects);
    const count = (type: string) => bundle.objects.filter((o) => o.type === type).length;
    expect(count('identity')).toBe(1);
    expect(count('indicator')).toBe(0);
    expect(count('vulnerability')).toBe(2);
    expect(count('location')).toBe(10);
    expect(count('sighting')).toBe(11); // 10 targeted countries + the CrowdSec sighting (no indicator to sight)
    expect(count('marking-definition')).toBe(1);

    expect(objects.get(CROWDSEC)).toMatchObject({ name: 'CrowdSec', identity_class: 'organization' });
    const sighting = objects.get(CROWDSEC_SIGHTING);
    expect(sighting).toMatchObject({
      sighting_of_ref: FAKE_INDICATOR_ID,
      where_sighted_refs: [CROWDSEC],
      x_opencti_sighting_of_ref: OBSERVABLE,
      first_seen: '2023-06-13T19:00:00.000Z',
      last_seen: '2024-04-18T08:15:00.000Z',
      count: 1,
      confidence: 90,
      description: 'CrowdSec CTI sighting for IP: 146.70.186.190',
    });
    const refs = ((sighting?.external_references ?? []) as Array<{ source_name: string }>).map((r) => r.source_name);
    expect(refs[0]).toBe('CrowdSec CTI');
    expect(refs).toContain('MITRE ATT&CK (T1110 - Brute Force)');

    expect(objects.get(US)).toMatchObject({
      name: 'United States',
      country: 'United States of America',
      x_opencti_location_type: 'Country',
      x_opencti_aliases: ['United States of America'],
    });
    expect(US).toBe(locationId('United States', 'Country'));
    expect(objects.get(US_SIGHTING)).toMatchObject({
      count: 37,
      where_sighted_refs: [US],
      x_opencti_sighting_of_ref: OBSERVABLE,
    });

    const cve = vulnerabilityId('CVE-2021-41773');
    expect(objects.get(cve)).toMatchObject({ name: 'CVE-2021-41773', description: 'CVE-2021-41773' });
    expect(objects.has(relationshipId('related-to', cve, OBSERVABLE))).toBe(true);

    // Every object carries the observable's marking; SDOs and SROs are by CrowdSec.
    for (const o of bundle.objects) {
      if (o.type === 'marking-definition') continue;
      if (o.type !== 'identity') expect(o.object_marking_refs as string[]).toContain(TLP_MARKING_IDS['TLP:AMBER']);
      if (!['identity', 'ipv4-addr'].includes(o.type)) expect(o.created_by_ref).toBe(CROWDSEC);
    }
  });

  it('re-sends the observable with the CTI link, the labels and its own id', () => {
    const bundle = toStixBundle(entity, cti, { ...defaults, description: 'desc marker' });
    const observable = byId(bundle.objects).get(OBSERVABLE);
    expect(observable?.external_references).toEqual([
      {
        source_name: 'CrowdSec CTI',
        url: 'https://app.crowdsec.net/cti/146.70.186.190',
        description: 'CrowdSec CTI url for this IP',
      },
    ]);
    const labels = observable?.x_opencti_labels as string[];
    expect(labels[0]).toBe('existing-label');
    expect(labels).toContain('crowdsecurity/http-path-traversal-probing');
    expect(labels).toContain('HTTP Path Traversal Exploit');
    expect(labels).not.toContain('crowdsecurity/CVE-2022-26134'); // CVE scenarios are not name labels
    expect(observable?.x_opencti_description).toBe('desc marker');
  });

  it('an indicator whose last_seen is not a readable date is valid from now, instead of failing the enrichment', () => {
    const options = { ...defaults, indicatorCreateFrom: ['malicious'] };
    for (const lastSeen of [
      'not a date',
      '+275760-09-14T00:00:00Z',
      '10000-01-01T00:00:00Z',
      '0000-12-31T12:00:00+05:00',
    ]) {
      const answer = { ...cti, history: { ...cti.history, last_seen: lastSeen } };
      const indicator = byId(toStixBundle(entity, answer, options).objects).get(INDICATOR);
      expect(indicator?.valid_from).toBe('2024-05-01T10:00:00.000Z');
    }
  });

  it('reads any last_seen as an ISO instant of years 1-9999 or as absent', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
        ),
        (text) => {
          const iso = isoInstant(text);
          if (iso !== undefined) expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        },
      ),
    );
  });

  it('creates the indicator, attack patterns, targets and a stable note when asked', () => {
    const options = {
      ...defaults,
      indicatorCreateFrom: ['malicious'],
      attackPatternsFromMitre: true,
      createNote: true,
    };
    const bundle = toStixBundle(entity, cti, options);
    const objects = byId(bundle.objects);
    expect(INDICATOR).toBe(indicatorId("[ipv4-addr:value = '146.70.186.190']"));
    expect(objects.get(INDICATOR)).toMatchObject({
      name: 'CrowdSec CTI (malicious IP: 146.70.186.190)',
      pattern_type: 'stix',
      confidence: 90,
      indicator_types: ['malicious-activity'],
      x_opencti_main_observable_type: 'IPv4-Addr',
      valid_from: '2024-04-18T08:15:00.000Z',
    });
    expect(((objects.get(INDICATOR)?.external_references ?? []) as Array<{ url: string }>)[0]?.url).toBe(
      'https://iplists.firehol.org/?ipset=cybercrime',
    );
    expect(objects.get(relationshipId('based-on', INDICATOR, OBSERVABLE))).toMatchObject({ confidence: 75 });
    expect(T1110).toBe(attackPatternId('MITRE ATT&CK (T1110 - Brute Force)', 'T1110'));
    expect(objects.get(T1110)).toMatchObject({ name: 'MITRE ATT&CK (T1110 - Brute Force)', x_mitre_id: 'T1110' });
    expect(objects.has(relationshipId('indicates', INDICATOR, T1110))).toBe(true);
    expect(objects.has(relationshipId('targets', T1110, US))).toBe(true);
    // With an indicator, upstream sights both the observable and the indicator, in CrowdSec and in each country.
    expect(objects.get(CROWDSEC_SIGHTING)).toMatchObject({
      sighting_of_ref: FAKE_INDICATOR_ID,
      x_opencti_sighting_of_ref: OBSERVABLE,
    });
    expect(objects.get(CROWDSEC_INDICATOR_SIGHTING)).toMatchObject({
      sighting_of_ref: INDICATOR,
      where_sighted_refs: [CROWDSEC],
      count: 1,
      first_seen: '2023-06-13T19:00:00.000Z',
    });
    expect(objects.get(CROWDSEC_INDICATOR_SIGHTING)).not.toHaveProperty('x_opencti_sighting_of_ref');
    expect(objects.get(US_SIGHTING)).toMatchObject({ sighting_of_ref: FAKE_INDICATOR_ID, where_sighted_refs: [US] });
    expect(objects.get(US_INDICATOR_SIGHTING)).toMatchObject({ sighting_of_ref: INDICATOR, count: 37 });

    const note = bundle.objects.find((o) => o.type === 'note');
    expect(note?.content).toContain('**Reputation**: malicious');
    expect(note?.content).toContain('- United States (37%)');
    const again = toStixBundle(entity, cti, { ...options, now: new Date('2025-01-01T00:00:00.000Z') });
    expect(again.objects.find((o) => o.type === 'note')?.id).toBe(note?.id);
  });

  it('links attack patterns to the observable when there is no indicator', () => {
    const bundle = toStixBundle(entity, cti, { ...defaults, attackPatternsFromMitre: true });
    expect(byId(bundle.objects).has(relationshipId('related-to', OBSERVABLE, T1110))).toBe(true);
  });

  it('sights without dates when CrowdSec sends a history date that is not one (upstream crashed on it)', () => {
    for (const first_seen of ['2023-13-45T99:99:99+00:00', 'yesterday', '']) {
      const odd = smokeSchema.parse({
        ...fixture('smoke-ip-146.70.186.190.json'),
        history: { first_seen, last_seen: '2024-04-18T08:15:00+00:00' },
      });
      const bundle = toStixBundle(entity, odd, defaults);
      const sighting = bundle.objects.find(
        (o) => o.type === 'sighting' && (o.where_sighted_refs as string[] | undefined)?.[0] === CROWDSEC,
      );
      expect(sighting, first_seen).toBeDefined();
      expect(sighting, first_seen).not.toHaveProperty('first_seen');
      // pycti hashes last_seen only together with first_seen: no dates in the id either.
      expect(sighting?.id).toBe(generateId('sighting', { sighting_of_ref: OBSERVABLE, where_sighted_refs: CROWDSEC }));
    }
  });

  it('skips an unknown country code instead of failing', () => {
    const odd = smokeSchema.parse({ ...fixture('smoke-ip-146.70.186.190.json'), target_countries: { XX: 50, FR: 10 } });
    const bundle = toStixBundle(entity, odd, defaults);
    expect(bundle.objects.filter((o) => o.type === 'location').map((o) => o.name)).toEqual(['France']);
  });

  it('creates nothing optional when every toggle is off', () => {
    const bundle = toStixBundle(entity, cti, {
      ...defaults,
      vulnerabilitiesFromCves: false,
      targetedCountriesSightings: false,
      createSighting: false,
    });
    expect(bundle.objects.map((o) => o.type).sort()).toEqual(['identity', 'ipv4-addr', 'marking-definition']);
  });
});

const noLabels = {
  scenarioName: false,
  scenarioLabel: false,
  cve: false,
  mitre: false,
  behavior: false,
  reputation: false,
};

describe('labels and the description marker', () => {
  it('follows the label toggles in upstream order', () => {
    expect(
      crowdsecLabels(cti, {
        scenarioName: false,
        scenarioLabel: false,
        cve: true,
        mitre: true,
        behavior: true,
        reputation: true,
      }),
    ).toEqual([
      ...['T1110', 'T1595', 'T1190', 'T1589', 'T1018', 'T1046', 'T1498'],
      ...['CVE-2021-41773', 'CVE-2022-26134'],
      ...['http:scan', 'http:exploit', 'http:bruteforce', 'tcp:scan', 'http:spam', 'http:crawl', 'http:dos'],
      'malicious',
    ]);
    expect(crowdsecLabels({ ...cti, reputation: 'unknown' }, { ...noLabels, reputation: true })).toEqual([]);
  });

  it('replaces the marker and measures the time since the last enrichment', () => {
    const first = refreshDescription('An observable', new Date('2024-05-01T10:00:00Z'));
    expect(first.secondsSinceLast).toBeNull();
    expect(first.description).toBe('An observable\n\n`Last CrowdSec enrichment: 2024-05-01T10:00:00+00:00`');
    const second = refreshDescription(first.description, new Date('2024-05-01T10:02:00Z'));
    expect(second.secondsSinceLast).toBe(120);
    expect(second.description).toBe('An observable\n\n`Last CrowdSec enrichment: 2024-05-01T10:02:00+00:00`');
  });
});

describe('ids equal upstream head (reference/upstream-ids.json)', () => {
  const cases = upstreamIdCases('crowdsec');

  it('has the cases: defaults, everything on, country sightings off with an indicator', () => {
    expect(cases.map((c) => c.case)).toEqual([
      'upstream-defaults',
      'everything-on',
      'countries-without-their-sightings',
    ]);
  });

  it.each(cases.map((c) => [c.case, c] as const))("%s: every object has upstream's id, none is missing", (_name, c) => {
    const options = { ...defaults, ...(c.options as Partial<MappingOptions>) };
    const bundle = toStixBundle(entity, cti, options);
    expect(entity.id).toBe(c.entity?.id);
    expect(compareWithUpstream(c, bundle.objects)).toEqual({ missing: [], unexpected: [], notDifferent: [] });
  });

  it.each(cases.map((c) => [c.case, c] as const))('%s: each sighting sights what its id says', (_name, c) => {
    const bundle = toStixBundle(entity, cti, { ...defaults, ...(c.options as Partial<MappingOptions>) });
    const objects = byId(bundle.objects);
    const sightings = c.vectors.filter((v) => v.kind === 'sighting');
    expect(sightings.length).toBeGreaterThan(0);
    for (const vector of sightings) {
      const sighting = objects.get(vector.id);
      const of = vector.input.sighting_of_ref;
      // STIX cannot sight an observable: upstream points at a placeholder and names the observable aside.
      expect(sighting).toMatchObject(
        of === OBSERVABLE
          ? { sighting_of_ref: FAKE_INDICATOR_ID, x_opencti_sighting_of_ref: OBSERVABLE }
          : { sighting_of_ref: of },
      );
      expect(sighting?.where_sighted_refs).toEqual([vector.input.where_sighted_refs]);
    }
  });
});
