import { describe, expect, it } from 'vitest';
import { BundleError } from '../errors/index.js';
import {
  AUTHOR_CREATED,
  buildAttackPattern,
  buildAuthor,
  buildIdentity,
  buildIncident,
  buildIndicator,
  buildLocation,
  buildNote,
  buildObservable,
  buildRelationship,
  buildReport,
  buildSighting,
  buildVulnerability,
  type StixContext,
} from './builders.js';
import { sightingId, TLP_MARKING_IDS } from './ids.js';

const NOW = '2024-05-01T08:00:00.000Z';
const author = buildAuthor('SpyCloud', 'SpyCloud external import connector');
const ctx: StixContext = { author, markings: [TLP_MARKING_IDS['TLP:AMBER+STRICT']], confidence: 75, now: NOW };

describe('buildAuthor', () => {
  // Ids from the author table of reference/connectors.md (computed independently of this code).
  it.each([
    ['Team Cymru', 'identity--56893999-5bf3-58e3-8d7c-58412a6603c3'],
    ['SpyCloud', 'identity--115e787b-4b83-59ef-b350-aeb7b1736c74'],
    ['Team T5 External Import Connector', 'identity--4da37d9f-2e24-5549-9a5b-7219e5d7e056'],
    ['Urlscan Enrichment', 'identity--2ec85739-6499-5a88-a297-5485fcf2a45c'],
    ['CrowdSec', 'identity--5f18c204-0a7f-5061-a146-d29561d9c8aa'],
  ])('%s → %s', (name, id) => {
    expect(buildAuthor(name).id).toBe(id);
  });

  it('is an organization dated at the fixed AUTHOR_CREATED instant unless given dates', () => {
    expect(author).toEqual({
      type: 'identity',
      spec_version: '2.1',
      id: 'identity--115e787b-4b83-59ef-b350-aeb7b1736c74',
      created: '1970-01-01T00:00:00.000Z',
      modified: '1970-01-01T00:00:00.000Z',
      name: 'SpyCloud',
      description: 'SpyCloud external import connector',
      identity_class: 'organization',
    });
    expect(AUTHOR_CREATED).toBe('1970-01-01T00:00:00.000Z');
    // The same bytes on every run: nothing in it comes from the clock.
    expect(JSON.stringify(buildAuthor('SpyCloud', 'SpyCloud external import connector'))).toBe(JSON.stringify(author));
    const dated = buildAuthor('Team Cymru', undefined, {
      created: NOW,
      external_references: [{ source_name: 'Team Cymru Scout', url: 'https://www.team-cymru.com/pure-signal' }],
    });
    expect(dated).toMatchObject({ created: NOW, modified: NOW, identity_class: 'organization' });
    expect(dated).not.toHaveProperty('description');
    expect(dated.external_references).toHaveLength(1);
    expect(() => buildAuthor('X', undefined, { created: 'yesterday' })).toThrow(/not an ISO timestamp/);
  });
});

describe('SDO and SRO builders', () => {
  it('fills the common properties from the context and leaves out empty ones', () => {
    const indicator = buildIndicator(
      {
        pattern: "[ipv4-addr:value = '8.8.8.8']",
        name: '8.8.8.8',
        labels: [],
        object_marking_refs: [TLP_MARKING_IDS['TLP:AMBER+STRICT'], TLP_MARKING_IDS['TLP:RED']],
        x_opencti_main_observable_type: 'IPv4-Addr',
        description: undefined,
      },
      ctx,
    );
    expect(indicator).toEqual({
      type: 'indicator',
      spec_version: '2.1',
      id: 'indicator--7ad3d74b-c761-522d-9359-5e7565a3abb4',
      created: NOW,
      modified: NOW,
      created_by_ref: author.id,
      pattern: "[ipv4-addr:value = '8.8.8.8']",
      name: '8.8.8.8',
      x_opencti_main_observable_type: 'IPv4-Addr',
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: NOW,
      confidence: 75,
      object_marking_refs: [TLP_MARKING_IDS['TLP:AMBER+STRICT'], TLP_MARKING_IDS['TLP:RED']],
    });
  });

  it("sets pattern_version '2.1' on STIX patterns only, as stix2 does", () => {
    const stix = buildIndicator({ pattern: "[ipv4-addr:value = '8.8.8.8']" }, ctx);
    expect(stix.pattern_version).toBe('2.1');
    expect(buildIndicator({ pattern: "[ipv4-addr:value = '8.8.8.8']", pattern_version: '2.0' }, ctx)).toMatchObject({
      pattern_version: '2.0',
    });
    const yara = buildIndicator({ pattern: 'rule x { condition: true }', pattern_type: 'yara' }, ctx);
    expect(yara).not.toHaveProperty('pattern_version');
  });

  it('writes every timestamp as …T00:00:00.000Z and hashes the values as given', () => {
    const sighting = buildSighting(
      {
        sighting_of_ref: 'indicator--a1b2c3d4-0000-4000-8000-000000000001',
        where_sighted_refs: ['identity--d969b177-497f-598d-8428-b128c8f5f819'],
        first_seen: '2023-06-13T19:00:00Z',
        last_seen: '2024-04-18T10:15:00.123456+02:00',
        created: '2024-05-01T08:00:00Z',
        modified: '2024-05-01 09:00:00.5Z',
      },
      ctx,
    );
    expect(sighting).toMatchObject({
      first_seen: '2023-06-13T19:00:00.000Z',
      last_seen: '2024-04-18T08:15:00.123Z',
      created: '2024-05-01T08:00:00.000Z',
      modified: '2024-05-01T09:00:00.500Z',
    });
    // pycti hashes its dates verbatim: the id is the one of the texts given, not of the form written.
    expect(sighting.id).toBe(
      sightingId(
        'indicator--a1b2c3d4-0000-4000-8000-000000000001',
        ['identity--d969b177-497f-598d-8428-b128c8f5f819'],
        '2023-06-13T19:00:00Z',
        '2024-04-18T10:15:00.123456+02:00',
      ),
    );
    expect(buildIndicator({ pattern: '[x:y = 1]', valid_until: '2030-01-01T00:00:00Z' }, ctx).valid_until).toBe(
      '2030-01-01T00:00:00.000Z',
    );
    expect(() => buildIndicator({ pattern: '[x:y = 1]', valid_until: 'soon' }, ctx)).toThrow(/valid_until 'soon'/);
    expect(() => buildVulnerability({ name: 'x', created: '2024-02-30T00:00:00Z' })).toThrow(/created/);
  });

  it('never reads the clock: no created and no ctx.now is an error', () => {
    expect(() => buildVulnerability({ name: 'CVE-2021-44228' })).toThrow(BundleError);
    expect(() => buildVulnerability({ name: 'CVE-2021-44228' }, { now: 'yesterday' })).toThrow(/not an ISO timestamp/);
    expect(buildVulnerability({ name: 'CVE-2021-44228', created: NOW })).toMatchObject({
      id: 'vulnerability--693c68fd-9a33-5d6d-b44e-407b6a48b05b',
      created: NOW,
      modified: NOW,
    });
  });

  it('lets the input override the context', () => {
    const relationship = buildRelationship(
      {
        relationship_type: 'uses',
        source_ref: 'malware--21c45dbe-54ec-5bb7-b8cd-9f27cc518714',
        target_ref: 'attack-pattern--fd8179dd-1632-5ec8-8b93-d2ae121e05a4',
        start_time: '2024-01-01T00:00:00.000Z',
        stop_time: '2024-06-01T00:00:00.000Z',
        confidence: 10,
        created_by_ref: 'identity--d969b177-497f-598d-8428-b128c8f5f819',
        created: '2024-01-02T00:00:00.000Z',
        modified: '2024-01-03T00:00:00.000Z',
      },
      ctx,
    );
    expect(relationship).toMatchObject({
      id: 'relationship--99e46112-be54-5851-98d9-fceea364b2d8',
      confidence: 10,
      created_by_ref: 'identity--d969b177-497f-598d-8428-b128c8f5f819',
      created: '2024-01-02T00:00:00.000Z',
      modified: '2024-01-03T00:00:00.000Z',
    });
  });

  it('builds sightings with the pycti id', () => {
    const sighting = buildSighting(
      {
        sighting_of_ref: 'indicator--a1b2c3d4-0000-4000-8000-000000000001',
        where_sighted_refs: ['identity--d969b177-497f-598d-8428-b128c8f5f819'],
        first_seen: '2024-01-01T00:00:00.000Z',
        last_seen: '2024-01-02T00:00:00.000Z',
        count: 1,
        x_opencti_sighting_of_ref: 'ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7',
      },
      ctx,
    );
    expect(sighting.id).toBe('sighting--b3ad283a-8f70-5a26-a6b8-d4a405a9797d');
    expect(sighting.x_opencti_sighting_of_ref).toBe('ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7');
  });

  it('hashes a note with its created date unless asked not to', () => {
    const props = { content: '  Analyst note\n', object_refs: ['ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7'] };
    const note = buildNote(props, { ...ctx, now: '2024-02-01T12:30:00.000Z' });
    expect(note.id).toBe('note--5570aebe-4910-5960-be80-a81c864e8e17');
    expect(note.content).toBe('  Analyst note\n');
    const stable = buildNote({ ...props, idFromContentOnly: true }, ctx);
    expect(stable.id).toBe(
      buildNote({ ...props, idFromContentOnly: true }, { ...ctx, now: '2030-01-01T00:00:00Z' }).id,
    );
    expect(stable.id).not.toBe(note.id);
    expect(stable).not.toHaveProperty('idFromContentOnly');
  });

  it('builds reports, incidents, locations, attack patterns and identities with pycti ids', () => {
    expect(
      buildReport(
        { name: '  WEEKLY threat report ', published: '2024-03-01T00:00:00.000Z', object_refs: [author.id] },
        ctx,
      ).id,
    ).toBe('report--267bc1fe-89fa-56fb-a5e4-ffdf9165d9d3');
    const incident = buildIncident(
      { name: 'incident', created: '2022-11-25T19:00:05.000Z', severity: 'high', incident_type: 'data-breach' },
      ctx,
    );
    expect(incident).toMatchObject({
      id: 'incident--0e117c15-0a94-5ad3-b090-0395613f5b29',
      created: '2022-11-25T19:00:05.000Z',
      severity: 'high',
      incident_type: 'data-breach',
    });
    expect(buildLocation({ name: 'Lyon', x_opencti_location_type: 'City' }, ctx).id).toBe(
      'location--da430873-42c8-57ca-b08b-a797558c6cbd',
    );
    expect(buildAttackPattern({ name: 'Spearphishing Link', x_mitre_id: 'T1566.002' }, ctx).id).toBe(
      'attack-pattern--af0c733a-28d4-59b3-8379-a5a6bd96ea77',
    );
    expect(buildIdentity({ name: 'julien', identity_class: 'individual' }, ctx).id).toBe(
      'identity--d969b177-497f-598d-8428-b128c8f5f819',
    );
  });

  it('refuses a report without a valid published date', () => {
    expect(() => buildReport({ name: 'r', published: 'soon', object_refs: [] }, ctx)).toThrow(/published/);
  });

  it('copies arrays instead of aliasing the input', () => {
    const labels = ['a'];
    const vulnerability = buildVulnerability({ name: 'CVE-1', labels }, ctx);
    labels.push('b');
    expect(vulnerability.labels).toEqual(['a']);
  });
});

describe('buildObservable', () => {
  it('puts the author and labels where OpenCTI reads them on SCOs', () => {
    const ip = buildObservable('ipv4-addr', { value: '8.8.8.8', labels: ['dns'], score: 40 }, ctx);
    expect(ip).toEqual({
      type: 'ipv4-addr',
      spec_version: '2.1',
      id: 'ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7',
      value: '8.8.8.8',
      object_marking_refs: [TLP_MARKING_IDS['TLP:AMBER+STRICT']],
      x_opencti_created_by_ref: author.id,
      x_opencti_labels: ['dns'],
      x_opencti_score: 40,
    });
  });

  it('computes the stix2 id from the contributing properties only', () => {
    expect(
      buildObservable('email-addr', { value: 'a@example.com', display_name: 'A', belongs_to_ref: 'user-account--x' })
        .id,
    ).toBe(buildObservable('email-addr', { value: 'a@example.com' }).id);
    expect(buildObservable('domain-name', { value: 'example.com', description: 'apex' })).toMatchObject({
      id: 'domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7',
      x_opencti_description: 'apex',
    });
    expect(buildObservable('autonomous-system', { number: 15169, name: 'AS15169' }).id).toBe(
      'autonomous-system--7afc7bdf-d070-5add-90ff-f93503b1654d',
    );
    expect(buildObservable('user-agent', { value: 'curl/8.0' }).id).toMatch(/^user-agent--/);
    expect(buildObservable('software', { name: 'nginx', version: '1.25' }).id).toMatch(/^software--/);
  });

  it('refuses an observable with no id', () => {
    expect(() => buildObservable('user-account', { display_name: 'x' })).toThrow(BundleError);
    expect(() => buildObservable('process', { pid: 4 })).toThrow(/process/);
  });

  it('has no created, modified or confidence', () => {
    const file = buildObservable('file', { name: 'evil.exe' }, ctx);
    expect(file.id).toBe('file--3974613c-1980-5209-8f08-17920a04da04');
    expect(Object.keys(file)).toEqual([
      'type',
      'spec_version',
      'id',
      'name',
      'object_marking_refs',
      'x_opencti_created_by_ref',
    ]);
  });
});
