import { readFileSync } from 'node:fs';
import {
  identityId,
  incidentId,
  observableId,
  relationshipId,
  type StixObject,
  TLP_MARKING_IDS,
  validateBundle,
} from '@cti/connector-sdk';
import { compareWithUpstream, upstreamIdCase } from '@cti/connector-testkit';
import { describe, expect, it } from 'vitest';
import { type BreachRecord, parseRecords } from './client.js';
import {
  groupForBundles,
  IncidentMerger,
  incidentName,
  isCredentialField,
  isDomainName,
  isEmailAddress,
  MASK,
  type MappingOptions,
  macAddressValue,
  recordIncidentId,
  recordObservables,
  recordTable,
  splitInfectedPath,
  toStixBundle,
} from './to-stix.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
const records: BreachRecord[] = parseRecords(fixture('breach-records.json').results).records;
const lastPage: BreachRecord[] = parseRecords(fixture('breach-records-last-page.json').results).records;
const byDoc = (id: string) => {
  const found = [...records, ...lastPage].find((r) => r.document_id === id);
  if (!found) throw new Error(`no record ${id}`);
  return found;
};
const record = (overrides: Record<string, unknown>) =>
  parseRecords([
    {
      document_id: 'doc-1',
      source_id: 1,
      spycloud_publish_date: '2024-12-04T00:00:00Z',
      severity: 20,
      ...overrides,
    },
  ]).records[0] as BreachRecord;

// Golden ids, computed independently of the SDK (Python: uuid5 over the canonical JSON pycti and stix2 hash).
const AUTHOR = 'identity--115e787b-4b83-59ef-b350-aeb7b1736c74';
const GROLFSON_INCIDENT = 'incident--71266bc6-5763-56ea-99f6-16fa4e2781a6';
const QHELLER_INCIDENT = 'incident--2f35c1d9-c213-5606-bcc0-4d6675827ebe';
const RAU_INCIDENT = 'incident--4d8263b3-5309-5e9a-ad2c-783a1bbc7218';
const AUDREY_INCIDENT = 'incident--746186fd-101b-5191-8d99-43ca34e33ad7';
const GROLFSON_EMAIL = 'email-addr--002fb737-2294-5e72-b0bd-ade3ec5a5aaf';
const GROLFSON_URL = 'url--bceb571b-f727-5d33-9b83-1572f100d2af';
const INERTIAJS = 'domain-name--4e6aa9a8-c508-547d-ad0e-1ee73dc31a8c';
const RAU_HOST_ACCOUNT = 'user-account--226aa7db-12ce-526c-8eff-1a64aeaf547a';
const AUDREY_ACCOUNT = 'user-account--34205008-0cfc-5b11-a193-9f25a88a0cee';
const RAU_FILE = 'file--0b2363b7-aa65-54d1-a358-b0cda0adaced';
const RAU_DIRECTORY = 'directory--3cbf6220-becb-52a5-8d2e-880b745efe6c';
const UVEUM_DIRECTORY = 'directory--c8be50cb-7390-5cae-9b81-b35caea2b062';
const RAU_IP = 'ipv4-addr--088b6ba9-6ffb-5915-93f0-4ea6d1bf1585';
const IPHONE_AGENT = 'user-agent--dc396343-e841-5d5d-87a0-3d53c40c92c7';
const GROLFSON_EMAIL_RELATED = 'relationship--60a33321-cc37-59bf-a882-705847d267ab';
const RAU_FILE_RELATED = 'relationship--eca80b5e-3dcf-57a4-9528-8e6a99f35210';

const TITLE = 'Telegram Combo Cloudxurl';
const titles = new Map([[67701, TITLE]]);
const options: MappingOptions = { authorName: 'SpyCloud', tlp: 'TLP:AMBER+STRICT', includePasswords: false };
const AMBER_STRICT = TLP_MARKING_IDS['TLP:AMBER+STRICT'];

function mapped(input: readonly BreachRecord[], o: Partial<MappingOptions> = {}, merger?: IncidentMerger) {
  const result = toStixBundle(input, titles, { ...options, ...o }, merger);
  if (!result.bundle) throw new Error('no bundle');
  const objects = new Map(result.bundle.objects.map((obj) => [obj.id, obj as Record<string, unknown> & StixObject]));
  return { ...result, bundle: result.bundle, objects };
}

const relatedTo = (objects: Map<string, StixObject>, incident: string) =>
  [...objects.values()]
    .filter((o) => o.type === 'relationship' && o.target_ref === incident)
    .map((o) => o.source_ref as string)
    .sort();

describe('toStixBundle (SpyCloud)', () => {
  it('maps the real page: one incident per record, colliding records merged, with pycti ids', () => {
    const { bundle, objects, incidents } = mapped(records);
    expect(validateBundle(bundle)).toEqual([]);
    const count = (type: string) => bundle.objects.filter((o) => o.type === type).length;
    expect(incidents).toBe(11); // 12 records, the two qheller@example.org records share one id
    expect(count('incident')).toBe(11);
    expect(count('identity')).toBe(1);
    expect(count('marking-definition')).toBe(1);
    expect(bundle.objects[0]?.id).toBe(AUTHOR);
    expect(AUTHOR).toBe(identityId('SpyCloud', 'organization'));
    expect(objects.get(AUTHOR)).toMatchObject({
      name: 'SpyCloud',
      identity_class: 'organization',
      description: 'SpyCloud external import connector',
    });
    expect(objects.get(AMBER_STRICT)).toMatchObject({ x_opencti_definition: 'TLP:AMBER+STRICT' });
    for (const o of bundle.objects) {
      if (o.type === 'identity' || o.type === 'marking-definition') continue;
      expect(o.object_marking_refs, o.id).toEqual([AMBER_STRICT]);
      expect(o.created_by_ref ?? o.x_opencti_created_by_ref, o.id).toBe(AUTHOR);
    }
  });

  it('builds the incident as upstream does, with the id the Python connector gives it', () => {
    const { objects } = mapped(records);
    expect(GROLFSON_INCIDENT).toBe(
      incidentId('Spycloud high alert on grolfson@example.org', '2024-12-04T00:00:00+00:00'),
    );
    const incident = objects.get(GROLFSON_INCIDENT);
    expect(incident).toMatchObject({
      type: 'incident',
      name: 'Spycloud high alert on grolfson@example.org',
      created: '2024-12-04T00:00:00.000Z',
      modified: '2024-12-04T00:00:00.000Z',
      first_seen: '2024-12-04T00:00:00.000Z',
      incident_type: 'data-breach',
      severity: 'high',
      source: TITLE,
      created_by_ref: AUTHOR,
    });
    expect(incident?.last_seen).toBeUndefined();
    const description = incident?.description as string;
    expect(description.startsWith('| Field | Value |  \n| ---- | ----- |  \n| document_id | 0812cbe0-')).toBe(true);
    expect(description).toContain('| target_subdomain | demo.inertiajs.com |  \n');
    expect(description).toContain('| password_type | plaintext |  \n');
    expect(description).not.toMatch(/source_id|\| severity|spycloud_publish_date/);
  });

  it('masks passwords in descriptions unless SPYCLOUD_INCLUDE_PASSWORDS is set', () => {
    const masked = mapped(records).objects.get(GROLFSON_INCIDENT)?.description as string;
    expect(masked).toContain(`| password | ${MASK} |`);
    expect(masked).toContain(`| password_plaintext | ${MASK} |`);
    expect(masked).not.toContain('jaXwWsR');
    const everyDescription = mapped([...records, ...lastPage])
      .bundle.objects.map((o) => String(o.description ?? ''))
      .join('\n');
    for (const r of [...records, ...lastPage]) {
      const raw = r as Record<string, unknown>;
      for (const key of ['password', 'password_plaintext', 'salt']) {
        // ("password" itself is also a field name)
        if (typeof raw[key] === 'string' && raw[key] !== 'password') {
          expect(everyDescription).not.toContain(raw[key] as string);
        }
      }
    }
    const shown = mapped(records, { includePasswords: true }).objects.get(GROLFSON_INCIDENT)?.description;
    expect(shown).toContain('| password | jaXwWsR:v6Tup7. |');
    expect(shown).toContain('| password_plaintext | jaXwWsR:v6Tup7. |');
  });

  it('merges the two records upstream silently collapses: one incident, every record, every observable', () => {
    const a = byDoc('04ce76ae-eef2-4e2e-82cf-5844469d7995');
    const b = byDoc('02ce6542-7bce-4def-adbb-5ae0830e7ad4');
    expect(recordIncidentId(a)).toBe(QHELLER_INCIDENT);
    expect(recordIncidentId(b)).toBe(QHELLER_INCIDENT);
    const { objects } = mapped(records);
    const description = objects.get(QHELLER_INCIDENT)?.description as string;
    expect(description).toMatch(/^SpyCloud reported 2 breach records for this alert/);
    expect(description).toContain('#### Breach record 1 of 2');
    expect(description).toContain('| document_id | 04ce76ae-eef2-4e2e-82cf-5844469d7995 |');
    expect(description).toContain('| document_id | 02ce6542-7bce-4def-adbb-5ae0830e7ad4 |');
    expect(description).toContain('| sighting | 1 |');
    expect(description).toContain('| sighting | 3 |');
    expect(relatedTo(objects, QHELLER_INCIDENT)).toEqual(
      [
        observableId('email-addr', { value: 'qheller@example.org' }),
        observableId('url', { value: 'https://www.paypal.com/webapps/helios/lipp' }),
        observableId('domain-name', { value: 'paypal.com' }),
      ].sort(),
    );
  });

  it('merges colliding records across pages through the merger, and forgets beyond its capacity', () => {
    const a = byDoc('04ce76ae-eef2-4e2e-82cf-5844469d7995');
    const b = byDoc('02ce6542-7bce-4def-adbb-5ae0830e7ad4');
    const merger = new IncidentMerger();
    expect(mapped([a], {}, merger).objects.get(QHELLER_INCIDENT)?.description).not.toMatch(/2 breach records/);
    const later = mapped([b], {}, merger).objects.get(QHELLER_INCIDENT)?.description as string;
    expect(later).toMatch(/^SpyCloud reported 2 breach records/);
    expect(later).toContain('04ce76ae-eef2-4e2e-82cf-5844469d7995');
    // The same record seen twice (two watchlist passes) is listed once.
    expect(mapped([b], {}, merger).objects.get(QHELLER_INCIDENT)?.description).toBe(later);

    const small = new IncidentMerger(2);
    mapped([a], {}, small);
    mapped([byDoc('0812cbe0-62d6-47b3-af9f-d5ed0aae6e3f'), byDoc('01ad29d3-dec5-4111-98aa-2570caf67c82')], {}, small);
    expect(small.size).toBe(2);
    expect(mapped([b], {}, small).objects.get(QHELLER_INCIDENT)?.description).not.toMatch(/2 breach records/);
  });

  it('relates every observable of a record to its incident, with pycti relationship ids', () => {
    const { objects } = mapped(records);
    expect(GROLFSON_EMAIL).toBe(observableId('email-addr', { value: 'grolfson@example.org' }));
    expect(GROLFSON_EMAIL_RELATED).toBe(relationshipId('related-to', GROLFSON_EMAIL, GROLFSON_INCIDENT));
    expect(objects.get(GROLFSON_EMAIL_RELATED)).toMatchObject({
      relationship_type: 'related-to',
      source_ref: GROLFSON_EMAIL,
      target_ref: GROLFSON_INCIDENT,
      created: '2024-12-04T00:00:00.000Z',
      created_by_ref: AUTHOR,
    });
    expect(relatedTo(objects, GROLFSON_INCIDENT)).toEqual(
      [GROLFSON_EMAIL, GROLFSON_URL, INERTIAJS, observableId('domain-name', { value: 'demo.inertiajs.com' })].sort(),
    );
    expect(objects.get(GROLFSON_URL)).toMatchObject({ value: 'http://demo.inertiajs.com/users/3/edit' });
    expect(objects.get(INERTIAJS)).toMatchObject({ value: 'inertiajs.com' });
  });

  it('maps an infostealer record: host account with its OS, IP, and the Windows path as file and directory', () => {
    const { objects } = mapped(records);
    expect(objects.get(RAU_HOST_ACCOUNT)).toMatchObject({
      account_login: 'DESKTOP-HMPQF30',
      account_type: 'Windows 11 Home Single Language (10.0.22621) x64',
    });
    expect(objects.get(RAU_IP)).toMatchObject({ type: 'ipv4-addr', value: '38.58.233.15' });
    expect(objects.get(RAU_FILE)).toMatchObject({ name: 'C:\\Users\\LENOVO\\Desktop\\Adobe Illustrator\\Set-up.exe' });
    expect(objects.get(RAU_DIRECTORY)).toMatchObject({ path: 'C:\\Users\\LENOVO\\Desktop\\Adobe Illustrator' });
    expect(RAU_FILE_RELATED).toBe(relationshipId('related-to', RAU_FILE, RAU_INCIDENT));
    expect(objects.has(RAU_FILE_RELATED)).toBe(true);
    expect(relatedTo(objects, RAU_INCIDENT)).toEqual(
      [
        RAU_HOST_ACCOUNT,
        observableId('email-addr', { value: 'rau.lindsey@example.org' }),
        observableId('url', { value: 'http://127.0.0.1:8000/' }),
        RAU_IP,
        RAU_FILE,
        RAU_DIRECTORY,
      ].sort(),
    );
    // The infected machine's account is not the mailbox owner's: no belongs_to_ref.
    expect(
      objects.get(observableId('email-addr', { value: 'rau.lindsey@example.org' }))?.belongs_to_ref,
    ).toBeUndefined();
    // Upstream's "." directory, shared by every record, is never created.
    expect([...objects.values()].filter((o) => o.type === 'directory').map((o) => o.path)).not.toContain('.');
  });

  it('takes a path ending in a backslash as a directory', () => {
    const { objects } = mapped([byDoc('34c52f48-ec7f-4ff1-b28c-4c71b5174df8')]);
    expect(objects.get(UVEUM_DIRECTORY)).toMatchObject({ path: 'D:\\Shakil Soft\\Internet Soft' });
    expect([...objects.values()].filter((o) => o.type === 'file')).toEqual([]);
  });

  it("links the email to the username's account and carries the full name", () => {
    const { objects } = mapped(records);
    expect(AUDREY_ACCOUNT).toBe(observableId('user-account', { account_login: '12036135' }));
    expect(objects.get(AUDREY_ACCOUNT)).toMatchObject({ account_login: '12036135' });
    expect(objects.get(observableId('email-addr', { value: 'audrey_boyer@example.org' }))).toMatchObject({
      belongs_to_ref: AUDREY_ACCOUNT,
    });
    expect(objects.get(AUDREY_INCIDENT)?.name).toBe('Spycloud medium alert on audrey_boyer@example.org');
    expect(objects.get(observableId('email-addr', { value: 'jhuliangel.carlen1288@example.org' }))).toMatchObject({
      display_name: 'Jhuliangel Figueroa',
    });
    expect(objects.get(IPHONE_AGENT)).toMatchObject({ type: 'user-agent' });
    expect(objects.get(IPHONE_AGENT)?.value).toMatch(/^Mozilla\/5\.0 \(iPhone/);
  });

  it('names the incident after the email, else the username, else the first IP, else the document id', () => {
    expect(incidentName(record({ email: 'a@example.org', username: 'u', ip_addresses: ['1.2.3.4'] }))).toBe(
      'Spycloud high alert on a@example.org',
    );
    expect(incidentName(record({ email: '', username: 'u', severity: 2 }))).toBe('Spycloud low alert on u');
    expect(incidentName(record({ ip_addresses: ['2001:db8::1', '1.2.3.4'], severity: 25 }))).toBe(
      'Spycloud critical alert on 2001:db8::1',
    );
    // Upstream crashes on these two (ip_addresses[0] of None, of []).
    expect(incidentName(record({ severity: 5 }))).toBe('Spycloud medium alert on doc-1');
    expect(incidentName(record({ ip_addresses: [] }))).toBe('Spycloud high alert on doc-1');
    const { objects } = mapped([record({ ip_addresses: ['2001:db8::1'] })]);
    expect(objects.get(incidentId('Spycloud high alert on 2001:db8::1', '2024-12-04T00:00:00+00:00'))).toBeDefined();
    expect(objects.get(observableId('ipv6-addr', { value: '2001:db8::1' }))).toBeDefined();
  });

  it('hashes the publish date as Python prints it, offset included', () => {
    const r = record({ email: 'a@example.org', spycloud_publish_date: '2024-12-04T10:00:00.25+02:00' });
    expect(recordIncidentId(r)).toBe(
      incidentId('Spycloud high alert on a@example.org', '2024-12-04T10:00:00.250000+02:00'),
    );
    const { objects } = mapped([r]);
    expect(objects.get(recordIncidentId(r))?.created).toBe('2024-12-04T08:00:00.250Z');
  });

  it('leaves out values that are not what their field says, and keeps the rest of the record', () => {
    const r = record({
      email: 'not-an-email',
      target_domain: 'not a domain',
      target_subdomain: 'sub.example.org',
      mac_address: 'zz:zz',
      ip_addresses: ['999.1.1.1', '10.0.0.1'],
    });
    const { objects, skipped } = mapped([r]);
    expect(skipped).toEqual([
      'doc-1: email "not-an-email" is not an email address',
      'doc-1: target_domain "not a domain" is not a domain name',
      'doc-1: mac_address "zz:zz" is not a MAC address',
      'doc-1: ip_addresses entry "999.1.1.1" is not an IP address',
    ]);
    const types = [...objects.values()].map((o) => o.type).sort();
    expect(types).toEqual([
      'domain-name',
      'identity',
      'incident',
      'ipv4-addr',
      'marking-definition',
      'relationship',
      'relationship',
    ]);
  });

  it('marks with the configured TLP, and returns no bundle for an empty page', () => {
    const { objects } = mapped(records.slice(0, 1), { tlp: 'TLP:CLEAR' });
    expect(objects.get(GROLFSON_INCIDENT)?.object_marking_refs).toEqual([TLP_MARKING_IDS['TLP:CLEAR']]);
    expect(objects.has(TLP_MARKING_IDS['TLP:CLEAR'])).toBe(true);
    expect(toStixBundle([], titles, options)).toEqual({ bundle: null, incidents: 0, skipped: [] });
  });

  it('uses "Unknown" for the source when the catalog title is missing, and the author named by CONNECTOR_NAME', () => {
    const { objects } = mapped([byDoc('48541166-f081-448b-b327-7e7513760bf2')], { authorName: 'Acme SpyCloud' });
    const incident = [...objects.values()].find((o) => o.type === 'incident');
    expect(incident?.source).toBe('Unknown');
    expect(incident?.created_by_ref).toBe(identityId('Acme SpyCloud', 'organization'));
  });
});

describe('ids equal upstream head (reference/upstream-ids.json)', () => {
  const upstream = upstreamIdCase('spycloud', 'breach-records');

  it("every object of both fixture pages has upstream's id, apart from the Windows directories", () => {
    const { bundle } = mapped([...records, ...lastPage], upstream.options as Partial<MappingOptions>);
    expect(compareWithUpstream(upstream, bundle.objects)).toEqual({ missing: [], unexpected: [], notDifferent: [] });
    // The only differences: the two Windows paths upstream reads as POSIX paths (Directory "."; a File for a
    // path that ends in a separator), with their related-to.
    expect(upstream.differences?.map((d) => d.id.split('--')[0]).sort()).toEqual([
      'directory',
      'file',
      'relationship',
      'relationship',
      'relationship',
    ]);
  });
});

describe('groupForBundles', () => {
  const numbered = (n: number, overrides: Record<string, unknown> = {}) =>
    record({ document_id: `doc-${n}`, email: `user${n}@example.org`, ...overrides });

  it('cuts a page into groups of at most the given size, in order', () => {
    const page = Array.from({ length: 7 }, (_, i) => numbered(i));
    const groups = groupForBundles(page, 3);
    expect(groups.map((g) => g.map((r) => r.document_id))).toEqual([
      ['doc-0', 'doc-1', 'doc-2'],
      ['doc-3', 'doc-4', 'doc-5'],
      ['doc-6'],
    ]);
  });

  it("keeps the records of one incident together, in the group of the incident's first record", () => {
    const a = byDoc('04ce76ae-eef2-4e2e-82cf-5844469d7995');
    const b = byDoc('02ce6542-7bce-4def-adbb-5ae0830e7ad4');
    const page = [a, numbered(1), numbered(2), b, numbered(3)];
    const groups = groupForBundles(page, 2);
    expect(groups.map((g) => g.map((r) => r.document_id))).toEqual([
      [a.document_id, b.document_id],
      ['doc-1', 'doc-2'],
      ['doc-3'],
    ]);
    // Records whose publish dates differ only in how they are written name the same incident.
    const sameInstant = numbered(1, { spycloud_publish_date: '2024-12-04T00:00:00+00:00' });
    expect(recordIncidentId(sameInstant)).toBe(recordIncidentId(numbered(1)));
    expect(groupForBundles([numbered(1), numbered(9), sameInstant], 1).map((g) => g.length)).toEqual([2, 1]);
  });

  it('lets one incident with more records than the size fill a group of its own', () => {
    const same = Array.from({ length: 4 }, (_, i) => numbered(0, { document_id: `same-${i}` }));
    const groups = groupForBundles([numbered(1), ...same, numbered(2)], 2);
    expect(groups.map((g) => g.length)).toEqual([1, 4, 1]);
  });

  it('gives the same objects in its bundles as one bundle for the page', () => {
    const whole = mapped(records).objects;
    const merger = new IncidentMerger();
    const parts = groupForBundles(records, 4).map((group) => mapped(group, {}, merger).objects);
    expect(parts.length).toBeGreaterThan(1);
    const union = new Map(parts.flatMap((objects) => [...objects]));
    expect([...union.keys()].sort()).toEqual([...whole.keys()].sort());
    for (const [id, object] of whole) expect(union.get(id)).toEqual(object);
  });
});

describe('descriptions', () => {
  it('lists the declared fields first, then the others in API order, escaping what breaks a table', () => {
    const table = recordTable(
      record({ zeta: 'z', email: 'a@example.org', note: 'a | b\nc', path: 'C:\\x\\_y', list: ['1', 2] }),
      false,
    );
    expect(table.split('  \n').slice(2, -1)).toEqual([
      '| document_id | doc-1 |',
      '| email | a@example.org |',
      '| zeta | z |',
      '| note | a \\| b c |',
      '| path | C:\\x\\\\_y |',
      '| list | 1, 2 |',
    ]);
  });

  it('masks credentials, not the password type', () => {
    for (const field of ['password', 'password_plaintext', 'user_password', 'salt', 'passwd', 'api_token', 'cookie']) {
      expect(isCredentialField(field), field).toBe(true);
    }
    for (const field of ['password_type', 'email', 'salt_type_name_x', 'sighting', 'user_browser']) {
      expect(isCredentialField(field), field).toBe(field === 'salt_type_name_x');
    }
  });
});

describe('value checks', () => {
  it('splits infected paths', () => {
    expect(splitInfectedPath('C:\\Users\\a\\b.exe')).toEqual({
      file: 'C:\\Users\\a\\b.exe',
      directory: 'C:\\Users\\a',
    });
    expect(splitInfectedPath('C:\\b.exe')).toEqual({ file: 'C:\\b.exe', directory: 'C:\\' });
    expect(splitInfectedPath('C:\\')).toEqual({ file: null, directory: 'C:\\' });
    expect(splitInfectedPath('D:\\a\\b\\')).toEqual({ file: null, directory: 'D:\\a\\b' });
    expect(splitInfectedPath('\\\\server\\share\\x.dll')).toEqual({
      file: '\\\\server\\share\\x.dll',
      directory: '\\\\server\\share\\',
    });
    expect(splitInfectedPath('Temp\\x.exe')).toEqual({ file: 'Temp\\x.exe', directory: 'Temp' });
    expect(splitInfectedPath('/home/u//./bin/x')).toEqual({ file: '/home/u/bin/x', directory: '/home/u/bin' });
    expect(splitInfectedPath('/x')).toEqual({ file: '/x', directory: '/' });
    expect(splitInfectedPath('/tmp/dir/')).toEqual({ file: null, directory: '/tmp/dir' });
    expect(splitInfectedPath('x.exe')).toEqual({ file: 'x.exe', directory: null });
    expect(splitInfectedPath('  ')).toEqual({ file: null, directory: null });
  });

  it('recognises domains, emails and MAC addresses as upstream validates them', () => {
    expect(isDomainName('demo.inertiajs.com')).toBe(true);
    expect(isDomainName('xn--bcher-kva.example')).toBe(true);
    expect(isDomainName('bücher.example')).toBe(true);
    expect(isDomainName('127.0.0.1')).toBe(false);
    expect(isDomainName('localhost')).toBe(false);
    expect(isDomainName('-bad.example.com')).toBe(false);
    expect(isEmailAddress('qheller@example.org')).toBe(true);
    expect(isEmailAddress('@example.org')).toBe(false);
    expect(isEmailAddress('a b@example.org')).toBe(false);
    expect(macAddressValue('00:1A:2b:3c:4d:5e')).toBe('00:1A:2b:3c:4d:5e');
    expect(macAddressValue('00-1a-2b-3c-4d-5e')).toBe('00-1a-2b-3c-4d-5e');
    expect(macAddressValue('001A2B3C4D5E')).toBe('00:1a:2b:3c:4d:5e');
    expect(macAddressValue('00:1a:2b')).toBeNull();
  });

  it('gives observables without an author or marking when the context has none', () => {
    const { observables } = recordObservables(record({ user_agent: 'curl/8' }), {});
    expect(observables).toEqual([
      { type: 'user-agent', spec_version: '2.1', id: observableId('user-agent', { value: 'curl/8' }), value: 'curl/8' },
    ]);
  });
});
