import { describe, expect, it } from 'vitest';
import { compareWithUpstream, type UpstreamIdCase, upstreamIdCase, upstreamIdCases } from './upstream-ids.js';

const vector = (id: string) => ({ kind: id.split('--')[0] ?? '', upstream: 'x.py', call: 'f()', input: {}, id });
const base: UpstreamIdCase = {
  connector: 'demo',
  case: 'demo',
  description: 'demo',
  vectors: [vector('indicator--1'), vector('sighting--2'), vector('sighting--3')],
  differences: [{ id: 'sighting--3', reason: 'on purpose' }],
  ours_only: [{ id: 'note--4', reason: 'on purpose' }],
};
const objects = (...ids: string[]) => ids.map((id) => ({ id, type: id.split('--')[0] ?? '' }));

describe('compareWithUpstream', () => {
  it('accepts exactly upstream minus the differences, plus what is declared ours only', () => {
    expect(compareWithUpstream(base, objects('indicator--1', 'sighting--2', 'note--4'))).toEqual({
      missing: [],
      unexpected: [],
      notDifferent: [],
    });
  });

  it('names what is missing, what is not upstream, and a declared difference produced after all', () => {
    expect(compareWithUpstream(base, objects('indicator--1', 'sighting--3', 'sighting--9'))).toEqual({
      missing: ['sighting--2'],
      unexpected: ['sighting--3', 'sighting--9'],
      notDifferent: ['sighting--3'],
    });
  });

  it('leaves marking definitions aside, and extra objects in a subset case', () => {
    const produced = objects('indicator--1', 'sighting--2', 'marking-definition--5', 'identity--6');
    expect(compareWithUpstream(base, produced).unexpected).toEqual(['identity--6']);
    expect(compareWithUpstream({ ...base, mode: 'subset' }, produced).unexpected).toEqual([]);
    expect(compareWithUpstream({ ...base, mode: 'subset' }, objects('indicator--1')).missing).toEqual(['sighting--2']);
  });
});

describe('reference/upstream-ids.json', () => {
  it('holds the cases the connectors test, each with its upstream source and ids', () => {
    // Each is compared with what the connector maps from the same fixture in its src/to-stix.test.ts.
    expect(upstreamIdCases().map((c) => `${c.connector}/${c.case}`)).toEqual([
      'crowdsec/upstream-defaults',
      'crowdsec/everything-on',
      'crowdsec/countries-without-their-sightings',
      'spycloud/breach-records',
      'teamt5/first-report',
      'team-cymru-scout/ip-foundation',
      'team-cymru-scout/search',
      'urlscan-enrichment/malicious-url',
      'urlscan-enrichment/malicious-hostname',
      'urlscan-enrichment/malicious-domain',
      'urlscan-enrichment/ip-search',
    ]);
    for (const c of upstreamIdCases()) {
      expect(c.vectors.length, c.case).toBeGreaterThan(0);
      for (const v of c.vectors) {
        expect(v.id, v.call).toMatch(/^[a-z0-9-]+--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(v.upstream, v.id).toMatch(/@[0-9a-f]{7,}|Robinzor/);
      }
    }
  });

  it('refuses an unknown case instead of skipping it', () => {
    expect(() => upstreamIdCase('crowdsec', 'no-such-case')).toThrow(/no case crowdsec\/no-such-case/);
  });
});
