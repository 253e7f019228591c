import { readFileSync } from 'node:fs';
import {
  AUTHOR_CREATED,
  dryRunEntity,
  identityId,
  observableId,
  relationshipId,
  TLP_MARKING_IDS,
  validateBundle,
} from '@cti/connector-sdk';
import { compareWithUpstream, upstreamIdCases } from '@cti/connector-testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ScoutObject, scoutBundleSchema } from './client.js';
import {
  canonicalValue,
  dropDanglingReferences,
  filterScoutObjects,
  rewriteRelationship,
  SCOUT_REFERENCE,
  toStixBundle,
} from './to-stix.js';

const fixture = (name: string) =>
  scoutBundleSchema.parse(JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8')));
const ipFoundation = fixture('ip-foundation.json');
const search = fixture('search.json');

// Golden ids, computed independently of the SDK (Python: uuid5 over the canonical JSON pycti and stix2 hash).
const AUTHOR = 'identity--56893999-5bf3-58e3-8d7c-58412a6603c3';
const IP_1111 = 'ipv4-addr--cbd67181-b9f8-595b-8bc3-3971e34fa1cc';
const IP_1001 = 'ipv4-addr--9c39e4b8-92cf-57d9-b3c6-1c0fefd958ac';
const IPV6_1111 = 'ipv6-addr--defad240-8865-5b74-b0bb-f4fcaf980002';
const ONE_ONE = 'domain-name--ec0c1df5-b581-5086-b219-ab40147f96ac';
const CLOUDFLARE_DNS = 'domain-name--68bf178a-9809-5abf-9e5e-0feb507dfcd9';
const AS13335 = 'autonomous-system--0204c07d-e4dd-5f14-a3d5-c93cb1c5a9fc';
const US = 'location--17d7dda2-c071-513d-8f9c-e3d2020250c3';
const CERT = 'x509-certificate--d9d68ea6-5265-5c02-a83e-9f338c0ecf3d';
const SEARCH_INDICATOR = 'indicator--b22bb10c-351f-551a-aa65-d3670702dd55';
/** 2606:4700:4700:0:0:0:0:1111, the same address as IPV6_1111 written in full. */
const IPV6_LONG = 'ipv6-addr--c770073a-d824-581a-acbb-1a3421fdb639';
const LINK_IPV6 = 'relationship--2c579892-5267-5fc4-93cc-4f152d5afdcb';
/** One.One.One.One, the domain in capitals. */
const ONE_ONE_CAPS = 'domain-name--f4973745-2647-5156-b331-151b2a367f8b';
const LINK_ONE_ONE_CAPS = 'relationship--5fc7bd29-4b93-5441-a395-f87c414f583b';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const byId = (objects: ReadonlyArray<{ id: string }>) =>
  new Map(objects.map((o) => [o.id, o as Record<string, unknown>]));
const ids = (objects: ReadonlyArray<{ id: string }>) => objects.map((o) => o.id).sort();

const rel = (id: string, type: string, source: string, target: string): ScoutObject => ({
  type: 'relationship',
  spec_version: '2.1',
  id: `relationship--${id}`,
  relationship_type: type,
  source_ref: source,
  target_ref: target,
});
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const ref = (type: string, n: number) => `${type}--${uuid(n)}`;

describe('the golden ids', () => {
  it('agree with the SDK id helpers', () => {
    expect(identityId('Team Cymru', 'organization')).toBe(AUTHOR);
    expect(observableId('ipv4-addr', { value: '1.1.1.1' })).toBe(IP_1111);
    expect(observableId('ipv6-addr', { value: '2606:4700:4700::1111' })).toBe(IPV6_1111);
    expect(observableId('domain-name', { value: 'one.one.one.one' })).toBe(ONE_ONE);
    expect(observableId('ipv6-addr', { value: '2606:4700:4700:0:0:0:0:1111' })).toBe(IPV6_LONG);
    expect(relationshipId('related-to', IPV6_LONG, IPV6_1111)).toBe(LINK_IPV6);
    expect(relationshipId('related-to', ONE_ONE_CAPS, ONE_ONE)).toBe(LINK_ONE_ONE_CAPS);
  });
});

describe('filterScoutObjects on the fixtures (folder README)', () => {
  it('ip-foundation.json: 9 in, 9 kept; indicates becomes based-on, owned-by becomes related-to', () => {
    expect(ipFoundation.objects).toHaveLength(9);
    const kept = filterScoutObjects(ipFoundation.objects);
    expect(ids(kept)).toEqual(ids(ipFoundation.objects));
    const objects = byId(kept);
    expect(objects.get('relationship--e871fa60-c356-50e4-a358-2662b4313a98')).toMatchObject({
      relationship_type: 'based-on',
      source_ref: 'indicator--950b5555-1593-587d-8e6f-e4767fb3caed',
      target_ref: IP_1111,
    });
    expect(objects.get('relationship--95fb815d-03be-5b1f-b6f9-83799b8ab5ee')).toMatchObject({
      relationship_type: 'related-to',
      source_ref: IP_1111,
      target_ref: 'identity--dc247db7-5af9-5e75-b647-b49f8962eef2',
    });
    expect(objects.get('relationship--96b0e64b-540b-5f8c-be74-295d51eb309b')?.relationship_type).toBe('belongs-to');
    expect(objects.get('relationship--eed2d4dd-0ba7-5e1b-b81f-8b753b55e049')?.relationship_type).toBe('located-at');
  });

  it('search.json: 27 in, 16 kept, exactly the documented ones', () => {
    expect(search.objects).toHaveLength(27);
    const kept = filterScoutObjects(search.objects);
    expect(kept).toHaveLength(16);
    const relationships = kept.filter((o) => o.type === 'relationship');
    expect(ids(kept.filter((o) => o.type !== 'relationship'))).toEqual(
      [ONE_ONE, CLOUDFLARE_DNS, IP_1111, IP_1001, IPV6_1111, AS13335, US, CERT, SEARCH_INDICATOR].sort(),
    );
    expect(relationships.map((r) => [r.relationship_type, r.source_ref, r.target_ref]).sort()).toEqual(
      [
        ['based-on', SEARCH_INDICATOR, ONE_ONE],
        ['resolves-to', ONE_ONE, IP_1111],
        ['resolves-to', ONE_ONE, IP_1001],
        ['resolves-to', ONE_ONE, IPV6_1111],
        ['related-to', IP_1111, IP_1001],
        ['belongs-to', IP_1111, AS13335],
        ['located-at', IP_1111, US],
      ].sort(),
    );
    // The dropped ones: PTR and wildcard domains, network-traffic, and the relationships around them.
    const gone = new Set(search.objects.map((o) => o.id));
    for (const o of kept) gone.delete(o.id);
    expect([...gone].sort()).toEqual(
      [
        'domain-name--e30bcb47-4f12-5307-b588-2a9204b12113', // 1.1.1.1.in-addr.arpa
        'domain-name--dc2457a1-9db5-536f-a8e9-33d2bd41dea2', // *.cloudflare-dns.com
        'network-traffic--7e6967b8-ce98-5513-ae11-93acda0b2e7e',
        'relationship--5a95cf5b-9c9e-5736-ad0e-1e8599e449f3', // ipv4 uses x509
        'relationship--ec7a8fa9-8d21-5cd4-b634-f24bf5054895', // x509 belongs-to AS
        'relationship--c59b195f-fe07-5cc7-97a8-94a463f81f1f', // issued-in
        'relationship--600c21a7-be97-5e76-bb14-3f68e9c35d2a', // network-traffic located-at
        'relationship--810f5504-f4bd-549c-bab7-29706d483ddf', // domain uses domain
        'relationship--130823b8-fd96-5ce3-be15-461b06f4418a', // domain self loop
        'relationship--d6199316-70ff-5a01-8fec-4617ec1e1e23', // from the PTR domain
        'relationship--836463c2-56e7-51fc-b061-a98687acbde8', // from the wildcard domain
      ].sort(),
    );
  });

  it('does not modify the vendor objects it rewrites', () => {
    const before = JSON.stringify(search.objects);
    filterScoutObjects(search.objects);
    expect(JSON.stringify(search.objects)).toBe(before);
  });
});

describe('the relationship rules, one by one', () => {
  it.each([
    ['indicator', 'ipv4-addr', 'indicates', 'based-on'],
    ['indicator', 'ipv6-addr', 'indicates', 'based-on'],
    ['indicator', 'domain-name', 'indicates', 'based-on'],
    ['indicator', 'url', 'indicates', 'indicates'],
    ['indicator', 'malware', 'indicates', 'indicates'],
    ['ipv4-addr', 'identity', 'owned-by', 'related-to'],
    ['ipv6-addr', 'identity', 'owned-by', 'related-to'],
    ['domain-name', 'identity', 'owned-by', 'owned-by'],
    ['ipv4-addr', 'ipv4-addr', 'communicates-with', 'related-to'],
    ['ipv6-addr', 'ipv6-addr', 'communicates-with', 'related-to'],
    ['ipv4-addr', 'ipv6-addr', 'communicates-with', 'communicates-with'],
    ['domain-name', 'ipv4-addr', 'resolves-to', 'resolves-to'],
    ['ipv4-addr', 'autonomous-system', 'belongs-to', 'belongs-to'],
    ['ipv4-addr', 'location', 'located-at', 'located-at'],
  ])('%s -[%s]-> %s … %s becomes %s', (source, target, type, expected) => {
    expect(rewriteRelationship(source, target, type)).toBe(expected);
  });

  it.each([
    ['network-traffic', 'location', 'located-at'],
    ['network-traffic', 'autonomous-system', 'belongs-to'],
    ['x509-certificate', 'autonomous-system', 'belongs-to'],
    ['domain-name', 'domain-name', 'uses'],
    ['ipv4-addr', 'x509-certificate', 'uses'],
    ['ipv6-addr', 'x509-certificate', 'uses'],
    ['x509-certificate', 'location', 'issued-in'],
    ['identity', 'location', 'issued-in'],
  ])('drops %s -> %s %s', (source, target, type) => {
    expect(rewriteRelationship(source, target, type)).toBeNull();
  });

  it('keeps domain→domain relationships other than uses', () => {
    expect(rewriteRelationship('domain-name', 'domain-name', 'resolves-to')).toBe('resolves-to');
  });

  it('drops relationships touching network-traffic by the type of the reference, object present or not', () => {
    const kept = filterScoutObjects([
      rel(uuid(1), 'related-to', ref('network-traffic', 9), IP_1111),
      rel(uuid(2), 'related-to', IP_1111, ref('network-traffic', 9)),
      rel(uuid(3), 'related-to', IP_1111, IP_1001),
    ]);
    expect(ids(kept)).toEqual([`relationship--${uuid(3)}`]);
  });

  it('drops a relationship to an invalid domain listed after it in the bundle', () => {
    const kept = filterScoutObjects([
      rel(uuid(1), 'resolves-to', ref('domain-name', 5), IP_1111),
      { type: 'domain-name', id: ref('domain-name', 5), value: 'my_host.example.com' },
      { type: 'domain-name', id: ref('domain-name', 6), value: 'example.com' },
      rel(uuid(2), 'resolves-to', ref('domain-name', 6), IP_1111),
    ]);
    expect(ids(kept)).toEqual([ref('domain-name', 6), `relationship--${uuid(2)}`].sort());
  });

  it('drops a domain without a usable value, and every self loop', () => {
    const kept = filterScoutObjects([
      { type: 'domain-name', id: ref('domain-name', 1) },
      { type: 'domain-name', id: ref('domain-name', 2), value: 12 },
      rel(uuid(1), 'related-to', ONE_ONE, ONE_ONE),
      rel(uuid(2), 'related-to', IP_1111, IP_1111),
    ]);
    expect(kept).toEqual([]);
  });
});

describe('dropDanglingReferences (pycti cleanup_inconsistent_bundle)', () => {
  const entityId = IP_1111;
  it('drops relationships and sightings losing an end, removes other dangling refs, and cascades', () => {
    const objects: ScoutObject[] = [
      { type: 'ipv4-addr', id: IP_1001, value: '1.0.0.1', object_marking_refs: [ref('marking-definition', 7)] },
      rel(uuid(1), 'related-to', IP_1001, ref('identity', 404)),
      rel(uuid(2), 'related-to', IP_1001, entityId),
      {
        type: 'sighting',
        id: ref('sighting', 1),
        sighting_of_ref: ref('indicator', 404),
        where_sighted_refs: [ref('identity', 1)],
      },
      {
        type: 'note',
        id: ref('note', 1),
        content: 'x',
        object_refs: [`relationship--${uuid(1)}`, IP_1001],
        object_marking_refs: [TLP_MARKING_IDS['TLP:GREEN']],
        created_by_ref: ref('identity', 404),
      },
      { type: 'grouping', id: ref('grouping', 1), object_refs: [`relationship--${uuid(1)}`] },
    ];
    const out = byId(dropDanglingReferences(objects, new Set([entityId])));
    expect([...out.keys()].sort()).toEqual(
      [IP_1001, `relationship--${uuid(2)}`, ref('note', 1), ref('grouping', 1)].sort(),
    );
    expect(out.get(IP_1001)?.object_marking_refs).toBeUndefined();
    expect(out.get(ref('note', 1))).toEqual({
      type: 'note',
      id: ref('note', 1),
      content: 'x',
      object_refs: [IP_1001],
      object_marking_refs: [TLP_MARKING_IDS['TLP:GREEN']],
    });
    expect(out.get(ref('grouping', 1))?.object_refs).toBeUndefined();
  });
  it('removes a chain of 5,000 relationships pointing at relationships, whose first link dangles', () => {
    const links = Array.from({ length: 5_000 }, (_, i) =>
      rel(uuid(i), 'related-to', i === 0 ? ref('indicator', 404) : `relationship--${uuid(i - 1)}`, entityId),
    );
    const sound = Array.from({ length: 5_000 }, (_, i) =>
      rel(uuid(10_000 + i), 'related-to', i === 0 ? entityId : `relationship--${uuid(10_000 + i - 1)}`, entityId),
    );
    const out = dropDanglingReferences([...links, ...sound], new Set([entityId]));
    expect(out).toEqual(sound);
  });

  it('gives what the definition gives: clean, drop, and repeat until nothing changes (any bundle)', () => {
    const pool = [
      ...[0, 1, 2, 3].map((n) => ref('relationship', n)),
      ...[0, 1].map((n) => ref('sighting', n)),
      ...[0, 1, 2].map((n) => ref('ipv4-addr', n)),
      ref('identity', 0),
      TLP_MARKING_IDS['TLP:AMBER'],
      ref('marking-definition', 9),
    ];
    const external = new Set([ref('ipv4-addr', 0), ref('identity', 0)]);
    const reference = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...pool) },
      { weight: 1, arbitrary: fc.constantFrom(42, null, undefined, '', 'not-an-id') },
    );
    const maybe = (key: string, value: fc.Arbitrary<unknown>) =>
      fc.option(value, { nil: undefined }).map((v) => (v === undefined ? {} : { [key]: v }));
    const object = fc
      .tuple(
        fc.constantFrom('relationship', 'sighting', 'ipv4-addr', 'note'),
        fc.nat(3),
        maybe('source_ref', reference),
        maybe('target_ref', reference),
        maybe('sighting_of_ref', reference),
        maybe('where_sighted_refs', fc.array(reference, { maxLength: 3 })),
        maybe('object_refs', fc.array(reference, { maxLength: 3 })),
        maybe('created_by_ref', reference),
      )
      .map(([type, n, ...properties]) => Object.assign({ type, id: ref(type, n) }, ...properties) as ScoutObject);
    fc.assert(
      fc.property(fc.array(object, { maxLength: 14 }), (objects) => {
        expect(dropDanglingReferences(objects, external)).toEqual(cleanupByDefinition(objects, external));
      }),
      { numRuns: 2_000 },
    );
  });
});

/**
 * pycti's cleanup as it reads, one pass over the bundle per round until a round drops nothing: the
 * reference the linear implementation must match (and too slow for a chain of thousands).
 */
function cleanupByDefinition(objects: readonly ScoutObject[], external: ReadonlySet<string>): ScoutObject[] {
  const tlpIds = new Set<string>(Object.values(TLP_MARKING_IDS));
  let current = [...objects];
  for (;;) {
    const known = new Set([...external, ...current.map((o) => o.id)]);
    const resolves = (value: unknown) => typeof value === 'string' && (known.has(value) || tlpIds.has(value));
    const next: ScoutObject[] = [];
    for (const object of current) {
      if (object.type === 'relationship' && !(resolves(object.source_ref) && resolves(object.target_ref))) continue;
      if (object.type === 'sighting') {
        const where = Array.isArray(object.where_sighted_refs) ? object.where_sighted_refs : [];
        if (!resolves(object.sighting_of_ref) || !where.some(resolves)) continue;
      }
      const cleaned: Record<string, unknown> = { ...object };
      let changed = false;
      for (const [key, value] of Object.entries(object)) {
        if (value === null || value === undefined) continue;
        if (key.endsWith('_refs') && Array.isArray(value)) {
          const kept = value.filter(resolves);
          if (kept.length === value.length) continue;
          changed = true;
          if (kept.length > 0) cleaned[key] = kept;
          else delete cleaned[key];
        } else if (key.endsWith('_ref') && !resolves(value)) {
          changed = true;
          delete cleaned[key];
        }
      }
      next.push(changed ? (cleaned as ScoutObject) : object);
    }
    if (next.length === current.length) return next;
    current = next;
  }
}

describe('canonicalValue', () => {
  it('compares IPv6 compressed and domains without case or trailing dot', () => {
    expect(canonicalValue('ipv6-addr', '2606:4700:4700:0:0:0:0:1111')).toBe('2606:4700:4700::1111');
    expect(canonicalValue('ipv6-addr', '2606:4700:4700::1111')).toBe('2606:4700:4700::1111');
    expect(canonicalValue('domain-name', 'One.One.One.One.')).toBe('one.one.one.one');
    expect(canonicalValue('ipv4-addr', ' 1.1.1.1 ')).toBe('1.1.1.1');
    expect(canonicalValue('ipv4-addr', undefined)).toBeNull();
  });
});

describe('toStixBundle', () => {
  it('ip-foundation.json for 1.1.1.1: 9 kept + the author = 10 objects, vendor ids kept, author as creator', () => {
    const entity = dryRunEntity('1.1.1.1', 'IPv4-Addr');
    expect(entity.id).toBe(IP_1111);
    const { bundle, kept, linked } = toStixBundle(entity, ipFoundation.objects, { now: NOW });
    expect(kept).toBe(9);
    expect(linked).toBe(0);
    if (bundle === null) throw new Error('expected a bundle');
    expect(bundle.objects).toHaveLength(10);
    expect(ids(bundle.objects)).toEqual(ids([...ipFoundation.objects, { id: AUTHOR }]));
    expect(bundle.objects[0]).toEqual({
      type: 'identity',
      spec_version: '2.1',
      id: AUTHOR,
      created: AUTHOR_CREATED,
      modified: AUTHOR_CREATED,
      name: 'Team Cymru',
      identity_class: 'organization',
      external_references: [SCOUT_REFERENCE],
    });
    expect(SCOUT_REFERENCE).toEqual({
      source_name: 'Team Cymru Scout',
      url: 'https://www.team-cymru.com/pure-signal',
      description: 'Team Cymru Scout Search API',
    });
    for (const o of bundle.objects) {
      if (o.id === AUTHOR) continue;
      if (['ipv4-addr', 'autonomous-system'].includes(o.type)) {
        expect(o.x_opencti_created_by_ref).toBe(AUTHOR);
        expect(o).not.toHaveProperty('created_by_ref');
      } else {
        expect(o.created_by_ref).toBe(AUTHOR);
        expect(o).not.toHaveProperty('x_opencti_created_by_ref');
      }
    }
    expect(byId(bundle.objects).get(IP_1111)).toEqual({
      type: 'ipv4-addr',
      spec_version: '2.1',
      id: IP_1111,
      value: '1.1.1.1',
      x_opencti_created_by_ref: AUTHOR,
    });
    expect(validateBundle(bundle, { external: [entity.id] })).toEqual([]);
  });

  it('search.json for one.one.one.one: 16 kept + the author = 17 objects', () => {
    const entity = dryRunEntity('one.one.one.one', 'Domain-Name');
    expect(entity.id).toBe(ONE_ONE);
    const { bundle, kept, linked } = toStixBundle(entity, search.objects, { now: NOW });
    expect([kept, linked]).toEqual([16, 0]);
    expect(bundle?.objects).toHaveLength(17);
    const types = (bundle?.objects ?? []).map((o) => o.type);
    expect(types.filter((t) => t === 'relationship')).toHaveLength(7);
    expect(types.filter((t) => t === 'identity')).toEqual(['identity']);
    expect(validateBundle(bundle, { external: [entity.id] })).toEqual([]);
  });

  it('links the entity to Scout’s observable of the same value when the ids differ (IPv6 written in full)', () => {
    const entity = dryRunEntity('2606:4700:4700:0:0:0:0:1111', 'IPv6-Addr');
    expect(entity.id).toBe(IPV6_LONG);
    const { bundle, linked } = toStixBundle(entity, search.objects, { now: NOW });
    expect(linked).toBe(1);
    const link = byId(bundle?.objects ?? []).get(LINK_IPV6);
    expect(link).toEqual({
      type: 'relationship',
      spec_version: '2.1',
      id: LINK_IPV6,
      created: NOW.toISOString(),
      modified: NOW.toISOString(),
      created_by_ref: AUTHOR,
      relationship_type: 'related-to',
      source_ref: IPV6_LONG,
      target_ref: IPV6_1111,
    });
    expect(validateBundle(bundle, { external: [entity.id] })).toEqual([]);
  });

  it('links a domain written in capitals to Scout’s lower-case one', () => {
    const entity = dryRunEntity('One.One.One.One', 'Domain-Name');
    expect(entity.id).toBe(ONE_ONE_CAPS);
    const { bundle, linked } = toStixBundle(entity, search.objects, { now: NOW });
    expect(linked).toBe(1);
    expect(byId(bundle?.objects ?? []).get(LINK_ONE_ONE_CAPS)).toMatchObject({
      source_ref: ONE_ONE_CAPS,
      target_ref: ONE_ONE,
      relationship_type: 'related-to',
    });
  });

  it('keeps vendor relationships to the entity itself when Scout does not list the observable', () => {
    const entity = dryRunEntity('1.1.1.1', 'IPv4-Addr');
    const objects = ipFoundation.objects.filter((o) => o.id !== IP_1111);
    const { bundle, linked } = toStixBundle(entity, objects, { now: NOW });
    expect(linked).toBe(0);
    const relationships = (bundle?.objects ?? []).filter((o) => o.type === 'relationship');
    expect(relationships).toHaveLength(4);
    expect(validateBundle(bundle, { external: [entity.id] })).toEqual([]);
  });

  it('adds the TLP definitions the vendor objects reference and keeps its own marking definitions', () => {
    const entity = dryRunEntity('1.1.1.1', 'IPv4-Addr');
    const vendorMarking = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: ref('marking-definition', 3),
      definition_type: 'statement',
      definition: { statement: 'Copyright Team Cymru' },
    };
    const objects: ScoutObject[] = [
      {
        ...(ipFoundation.objects[0] as ScoutObject),
        object_marking_refs: [TLP_MARKING_IDS['TLP:AMBER'], vendorMarking.id],
      },
      vendorMarking,
    ];
    const { bundle } = toStixBundle(entity, objects, { now: NOW });
    const found = byId(bundle?.objects ?? []);
    expect(found.get(TLP_MARKING_IDS['TLP:AMBER'])?.type).toBe('marking-definition');
    expect(found.get(vendorMarking.id)).toEqual(vendorMarking);
    expect(validateBundle(bundle, { external: [entity.id] })).toEqual([]);
  });

  it('replaces a vendor copy of the author and any vendor creator', () => {
    const entity = dryRunEntity('1.1.1.1', 'IPv4-Addr');
    const objects: ScoutObject[] = [
      { type: 'identity', id: AUTHOR, name: 'Team Cymru', identity_class: 'organization', description: 'vendor copy' },
      { type: 'ipv4-addr', id: IP_1111, value: '1.1.1.1', created_by_ref: ref('identity', 8) },
      { type: 'location', id: US, name: 'US', created_by_ref: ref('identity', 8) },
    ];
    const { bundle } = toStixBundle(entity, objects, { now: NOW });
    const found = byId(bundle?.objects ?? []);
    expect(found.get(AUTHOR)?.description).toBeUndefined();
    expect(found.get(IP_1111)).toEqual({
      type: 'ipv4-addr',
      id: IP_1111,
      value: '1.1.1.1',
      x_opencti_created_by_ref: AUTHOR,
    });
    expect(found.get(US)?.created_by_ref).toBe(AUTHOR);
  });

  it('gives no bundle when nothing survives the filter', () => {
    const entity = dryRunEntity('one.one.one.one', 'Domain-Name');
    const onlyDropped = search.objects.filter(
      (o) => o.type === 'network-traffic' || (o.type === 'domain-name' && String(o.value).includes('*')),
    );
    expect(onlyDropped).toHaveLength(2);
    expect(toStixBundle(entity, onlyDropped, { now: NOW })).toEqual({ bundle: null, kept: 0, linked: 0 });
    const dangling = [rel(uuid(1), 'related-to', ref('ipv4-addr', 1), ref('identity', 2))];
    expect(toStixBundle(entity, dangling, { now: NOW }).bundle).toBeNull();
  });

  it('is deterministic: the same answer gives the same bytes', () => {
    const entity = dryRunEntity('one.one.one.one', 'Domain-Name');
    const a = toStixBundle(entity, search.objects, { now: NOW });
    const b = toStixBundle(entity, search.objects, { now: NOW });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});

describe('ids equal upstream head (reference/upstream-ids.json)', () => {
  const cases = upstreamIdCases('team-cymru-scout');
  const answers: Record<string, typeof search> = { 'ip-foundation': ipFoundation, search };

  it.each(cases.map((c) => [c.case, c] as const))('%s: what upstream sends, with the same ids', (name, c) => {
    if (c.entity === undefined) throw new Error('the case names no entity');
    const entity = dryRunEntity(c.entity.value, c.entity.entity_type);
    expect(entity.id).toBe(c.entity.id);
    const { bundle } = toStixBundle(entity, answers[name]?.objects ?? [], { now: NOW });
    if (bundle === null) throw new Error('expected a bundle');
    expect(compareWithUpstream(c, bundle.objects)).toEqual({ missing: [], unexpected: [], notDifferent: [] });
  });
});
