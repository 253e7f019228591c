import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BundleError } from '../errors/index.js';
import { canonicalize } from './canonical.js';
import {
  attackPatternId,
  explainId,
  externalReferenceId,
  generateId,
  identityId,
  incidentId,
  indicatorId,
  locationId,
  markingDefinitionId,
  noteId,
  OASIS_NAMESPACE,
  observableId,
  relationshipId,
  reportId,
  sightingId,
  TLP_MARKING_IDS,
  threatActorId,
  uuidV5,
  vulnerabilityId,
} from './ids.js';
import { pythonIsoformat, pythonLower, pythonStrip } from './python-text.js';

interface GoldenVector {
  kind: string;
  input: Record<string, unknown>;
  id: string;
  canonical?: string;
  note?: string;
  upstream_expected_id?: string;
}

const goldenUrl = new URL('../../../../reference/golden-ids.json', import.meta.url);
const golden = JSON.parse(readFileSync(goldenUrl, 'utf8')) as GoldenVector[];

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('golden ids (reference/golden-ids.json)', () => {
  it('holds the 85 published vectors', () => {
    expect(golden).toHaveLength(85);
  });

  it.each(golden.map((v, i) => [i, v.kind, v.note ?? '', v] as const))(
    'vector %i (%s) %s',
    (_i, _kind, _note, vector) => {
      const kind = vector.kind === 'sco' ? String(vector.input.type) : vector.kind;
      const explained = explainId(kind, vector.input);
      expect(explained.id).toBe(vector.id);
      expect(generateId(kind, vector.input)).toBe(vector.id);
      if (vector.canonical !== undefined) expect(explained.canonical).toBe(vector.canonical);
      else expect(explained.canonical).toBeUndefined();
      if (vector.upstream_expected_id !== undefined) expect(explained.id).toBe(vector.upstream_expected_id);
    },
  );
});

interface UpstreamVector {
  kind: string;
  call: string;
  input: Record<string, unknown>;
  id: string;
  canonical?: string;
}

const upstreamUrl = new URL('../../../../reference/upstream-ids.json', import.meta.url);
const upstream = JSON.parse(readFileSync(upstreamUrl, 'utf8')) as {
  cases: Array<{ connector: string; case: string; vectors: UpstreamVector[] }>;
};
// Vectors that hash something (not a vendor id kept as it is), once each.
const hashedVectors = [
  ...new Map(
    upstream.cases.flatMap((c) => c.vectors.filter((v) => v.canonical !== undefined).map((v) => [v.id, v] as const)),
  ).values(),
];

describe("the upstream connectors' calls (reference/upstream-ids.json)", () => {
  it('covers every kind the connectors hash', () => {
    expect(new Set(hashedVectors.map((v) => v.kind))).toEqual(
      new Set([
        'identity',
        'indicator',
        'relationship',
        'sighting',
        'attack-pattern',
        'vulnerability',
        'location',
        'incident',
        'report',
        'ipv4-addr',
        'ipv6-addr',
        'domain-name',
        'url',
        'email-addr',
        'user-account',
        'user-agent',
        'file',
        'directory',
        'autonomous-system',
      ]),
    );
  });

  it.each(hashedVectors.map((v) => [v.kind, v.call, v] as const))('%s: %s', (kind, _call, vector) => {
    const explained = explainId(kind, vector.input);
    expect(explained).toEqual({ id: vector.id, canonical: vector.canonical });
  });
});

describe('uuidV5', () => {
  it('matches Python uuid.uuid5 for the RFC 4122 DNS namespace', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('rejects a namespace that is not a UUID', () => {
    expect(() => uuidV5('not-a-uuid', 'x')).toThrow(TypeError);
    // Also once a valid namespace has been used (the namespaces' bytes are kept).
    uuidV5(OASIS_NAMESPACE, 'x');
    expect(() => uuidV5(`${OASIS_NAMESPACE}0`, 'x')).toThrow(TypeError);
  });

  it('is the RFC 4122 digest for any name and namespace, in either case', () => {
    // The RFC's construction written out with a streaming Hash: the SDK hashes one buffer at once.
    const reference = (namespace: string, name: string): string => {
      const bytes = createHash('sha1')
        .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
        .update(name, 'utf8')
        .digest()
        .subarray(0, 16);
      bytes.writeUInt8((bytes.readUInt8(6) & 0x0f) | 0x50, 6);
      bytes.writeUInt8((bytes.readUInt8(8) & 0x3f) | 0x80, 8);
      const hex = bytes.toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    };
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.boolean(),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        (namespace, upper, name) => {
          const ns = upper ? namespace.toUpperCase() : namespace;
          expect(uuidV5(ns, name)).toBe(reference(ns, name));
        },
      ),
      { numRuns: 500 },
    );
    expect(uuidV5(OASIS_NAMESPACE, '\ud800 lone')).toBe(reference(OASIS_NAMESPACE, '\ud800 lone'));
  });
});

describe('Python text semantics', () => {
  it('strips Python whitespace, not JS whitespace', () => {
    expect(pythonStrip('\u001c\u0085 a b\u3000\u2028')).toBe('a b');
    expect(pythonStrip('\ufeffa\ufeff')).toBe('\ufeffa\ufeff');
    expect(pythonStrip('\u180ea')).toBe('\u180ea');
    expect(pythonStrip(' \t\n\v\f\r')).toBe('');
  });

  it('lower-cases with full Unicode mappings', () => {
    expect(pythonLower('İ')).toBe('i\u0307');
    expect(pythonLower('ΟΔΟΣ')).toBe('οδος');
    expect(pythonLower('ΣΑ')).toBe('σα');
  });

  it('formats Dates like datetime.isoformat() on an aware UTC datetime', () => {
    expect(pythonIsoformat(new Date('2024-01-15T10:00:00Z'))).toBe('2024-01-15T10:00:00+00:00');
    expect(pythonIsoformat(new Date('2024-01-15T10:00:00.123Z'))).toBe('2024-01-15T10:00:00.123000+00:00');
  });

  // Expected ids below were computed with pycti's formula in Python (stix2 canonicalize + uuid.uuid5).
  it('normalises names with Python lower() then strip()', () => {
    expect(identityId('İstanbul Σ Group', 'Organization')).toBe('identity--c8f15c54-a695-5d81-af3a-8783d1a0c651');
    expect(malwareIdOf('ΟΔΟΣ')).toBe('malware--fe3b7322-34e1-5b19-8570-0c6a51bcc5de');
    expect(malwareIdOf('\u001c\u0085 Zeus\u3000\u2028')).toBe('malware--73e1f28c-0483-5bd3-9959-f4f04610a1a6');
  });
});

function malwareIdOf(name: string): string {
  return generateId('malware', { name });
}

describe('canonicalize (JCS as stix2 implements it)', () => {
  it('formats numbers like ECMAScript', () => {
    expect(
      canonicalize({ a: 1e-7, b: 1e21, c: 1e16, d: -0, e: 0.1 + 0.2, f: 123456789012345680000, g: 5e-324, h: 48.0 }),
    ).toBe(
      '{"a":1e-7,"b":1e+21,"c":10000000000000000,"d":0,"e":0.30000000000000004,"f":123456789012345680000,"g":5e-324,"h":48}',
    );
  });

  it('escapes only quote, backslash and C0 controls, with lowercase \\u00xx', () => {
    expect(canonicalize({ s: '\u0000\u001f\u007f\u2028"\\/\b\f\n\r\t é😀' })).toBe(
      '{"s":"\\u0000\\u001f\u007f\u2028\\"\\\\/\\b\\f\\n\\r\\t é😀"}',
    );
  });

  it('orders keys by UTF-16 code units (astral before U+E000)', () => {
    expect(canonicalize({ '\ue000': 1, '😀': 2, a: 3, B: 4 })).toBe('{"B":4,"a":3,"😀":2,"\ue000":1}');
  });

  it('refuses values without a JSON form', () => {
    expect(() => canonicalize({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalize({ a: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => canonicalize({ a: new Date(0) })).toThrow(TypeError);
    expect(() => canonicalize({ a: '\ud800' })).toThrow(/surrogate/);
    expect(() => canonicalize([undefined])).toThrow(TypeError);
    expect(() => canonicalize(10n)).toThrow(TypeError);
  });

  it('names where a value without a JSON form is, from the root', () => {
    expect(() => canonicalize({ a: [1, { b: Number.NaN }] })).toThrow('canonicalize: NaN at $.a[1].b is not');
    expect(() => canonicalize({ x: { '\ud800': 1 } })).toThrow('surrogate in the string at $.x');
    expect(() => canonicalize({ x: ['ok', 'ok', '\udfff'] })).toThrow('surrogate in the string at $.x[2]');
    expect(() => canonicalize({ l: [[0, undefined]] })).toThrow('canonicalize: undefined at $.l[0][1]');
    expect(() => canonicalize({ m: [new Map()] })).toThrow('canonicalize: [object Map] at $.m[0] is not a plain');
    expect(() => canonicalize({ f: { g: () => 1 } })).toThrow('canonicalize: a function at $.f.g has no JSON form');
    // The walk's position is not left behind by a value it refused: the next one starts from the root.
    expect(() => canonicalize({ a: { b: [Number.NaN] } })).toThrow('at $.a.b[0] is');
    expect(() => canonicalize({ c: Number.NaN })).toThrow('NaN at $.c is not');
  });

  it('leaves out undefined members', () => {
    expect(canonicalize({ b: undefined, a: [true, null] })).toBe('{"a":[true,null]}');
  });

  it('refuses data nested more than 100 levels deep, or referring to itself, with a TypeError naming where', () => {
    const nested = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
    expect(canonicalize(nested(100))).toBe(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`);
    expect(() => canonicalize(nested(101))).toThrow(
      /^canonicalize: \$\.a\.a\.a.*… is nested more than 100 levels deep/,
    );
    expect(() => canonicalize(nested(100_000))).toThrow(TypeError);
    const circular: Record<string, unknown> = { name: 'x' };
    circular.self = [circular];
    expect(() => canonicalize(circular)).toThrow(/nested more than 100 levels deep \(or refers to itself\)/);
    // Id generation over such data fails the same way (a clear error, not a stack overflow).
    expect(() => observableId('file', { hashes: { 'SHA-256': nested(100_000) } } as never)).toThrow(
      /nested more than 100 levels/,
    );
  });
});

describe('pycti rules', () => {
  it('hashes Date arguments as Python isoformat()', () => {
    expect(incidentId('x', new Date('2024-01-15T10:00:00.123Z'))).toBe(
      'incident--86cee3aa-07a0-5eaf-a1f7-8f21c33850d3',
    );
    expect(incidentId('Phishing Wave', new Date('2024-01-15T10:00:00Z'))).toBe(
      'incident--5981eae0-9e58-50fc-afd5-c7228ab1936e',
    );
  });

  it('takes date strings verbatim', () => {
    expect(noteId('My note content!', '2022-11-25T19:00:05.000Z')).toBe('note--10861e5c-049e-54f6-9736-81c106e39a0b');
    expect(noteId('My note content!', '2022-11-25T19:00:05Z')).not.toBe('note--10861e5c-049e-54f6-9736-81c106e39a0b');
    expect(noteId('My note content!')).toBe('note--2b4ab5af-2307-58e1-8862-a6a269aae798');
  });

  it('ignores stop_time without start_time and last_seen without first_seen', () => {
    expect(relationshipId('based-on', 'from_id', 'to_id', null, '2022-11-26T19:00:05.000Z')).toBe(
      'relationship--0b11fa67-da01-5d34-9864-67d4d71c3740',
    );
    expect(sightingId('from_id', ['to_id'], undefined, '2022-11-26T19:00:05.000Z')).toBe(
      'sighting--161901df-21bb-527a-b96b-354119279fe2',
    );
  });

  it('keeps the relationship type as given (no lower-casing)', () => {
    expect(relationshipId('Based-On', 'from_id', 'to_id')).not.toBe(
      'relationship--0b11fa67-da01-5d34-9864-67d4d71c3740',
    );
  });

  it('maps TLP definitions to the fixed ids, case-sensitively', () => {
    expect(markingDefinitionId('TLP', 'TLP:WHITE')).toBe(TLP_MARKING_IDS['TLP:CLEAR']);
    expect(markingDefinitionId('TLP', 'TLP:CLEAR')).toBe(TLP_MARKING_IDS['TLP:CLEAR']);
    expect(markingDefinitionId('TLP', 'TLP:AMBER+STRICT')).toBe(
      'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37',
    );
    expect(markingDefinitionId('TLP', 'TLP:RED')).toBe('marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed');
    expect(markingDefinitionId('tlp', 'TLP:RED')).not.toBe(TLP_MARKING_IDS['TLP:RED']);
    expect(markingDefinitionId('TLP', 'tlp:red')).toBe('marking-definition--a349d407-468a-5caa-9e9b-508bb6bef169');
  });

  // pycti 7 (opencti#16132): the MITRE id is lower-cased and stripped; blank falls back to the name.
  const MITREID = '66488b4f-c9d1-5e36-99cc-372b34ebeeee'; // {"x_mitre_id":"mitreid"}
  const NAME_ATTACK = '25f21617-8de8-5d5e-8cd4-b7e88547ba76'; // {"name":"attack"}

  it('follows Python `or` for attack pattern external ids, case and spaces aside', () => {
    expect(attackPatternId('attack', 'MITREID')).toBe(`attack-pattern--${MITREID}`);
    expect(attackPatternId('attack', ' mitreid ')).toBe(`attack-pattern--${MITREID}`);
    expect(generateId('attack-pattern', { name: 'attack', x_opencti_external_id: ' MITREID ' })).toBe(
      `attack-pattern--${MITREID}`,
    );
    // An empty x_mitre_id is falsy: the name is used; so is a blank one.
    expect(generateId('attack-pattern', { name: 'attack', x_mitre_id: '' })).toBe(`attack-pattern--${NAME_ATTACK}`);
    expect(attackPatternId('attack', '  ')).toBe(`attack-pattern--${NAME_ATTACK}`);
    expect(attackPatternId('attack', null)).toBe(`attack-pattern--${NAME_ATTACK}`);
  });

  it('normalises a course of action MITRE id like an attack pattern one (pycti 7)', () => {
    expect(generateId('course-of-action', { x_mitre_id: 'MITREID' })).toBe(`course-of-action--${MITREID}`);
    expect(generateId('course-of-action', { x_mitre_id: ' MitreId\t' })).toBe(`course-of-action--${MITREID}`);
    expect(generateId('course-of-action', { name: 'attack', x_mitre_id: ' ' })).toBe(
      `course-of-action--${NAME_ATTACK}`,
    );
    // Unlike attack patterns, pycti reads no x_opencti_external_id for a course of action.
    expect(generateId('course-of-action', { name: 'attack', x_opencti_external_id: 'MITREID' })).toBe(
      `course-of-action--${NAME_ATTACK}`,
    );
  });

  it('reads the threat actor type from x_opencti_type or the OpenCTI extension', () => {
    const individual = 'threat-actor--af15b6ae-a3dd-54d3-8fa0-3adfe0391d01';
    expect(threatActorId('CARD04', 'Threat-Actor-Individual')).toBe(individual);
    expect(generateId('threat-actor', { name: 'CARD04', x_opencti_type: 'Threat-Actor-Individual' })).toBe(individual);
    expect(
      generateId('threat-actor', {
        name: 'CARD04',
        extensions: {
          'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba': { type: 'Threat-Actor-Individual' },
        },
      }),
    ).toBe(individual);
    expect(threatActorId('CARD04')).toBe('threat-actor--6d458783-df3b-5398-8e30-282655ad7b94');
  });

  it('builds the same ids through the typed helpers as through generateId', () => {
    expect(identityId('julien', 'Individual')).toBe('identity--d969b177-497f-598d-8428-b128c8f5f819');
    expect(indicatorId("  [ipv4-addr:value = '8.8.8.8']\n")).toBe('indicator--7ad3d74b-c761-522d-9359-5e7565a3abb4');
    expect(reportId('Report', '2022-11-25T19:00:05.000Z')).toBe('report--761c6602-975f-5e5e-b220-7a2d41f33ce4');
    expect(locationId('Lyon', 'City')).toBe('location--da430873-42c8-57ca-b08b-a797558c6cbd');
    expect(locationId('Position3', 'Position', { latitude: 5.12, longitude: 5.12 })).toBe(
      'location--57acef55-747a-55ef-9c49-06ca85f8d749',
    );
    expect(vulnerabilityId('  VULNERABILITY ')).toBe('vulnerability--2c690168-aec3-57f1-8295-adf53f4dc3da');
    expect(externalReferenceId({ url: 'https://example.com/a', source_name: 'x', external_id: 'y' })).toBe(
      'external-reference--f58a9af8-5cf8-560c-b8e8-c3f6fa0ee938',
    );
  });
});

describe('observable ids (stix2 rule)', () => {
  it('ignores non-contributing properties and drops null and []', () => {
    const id = 'domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7';
    expect(observableId('domain-name', { value: 'example.com', resolves_to_refs: [], x_opencti_score: 50 })).toBe(id);
    expect(generateId('email-addr', { value: 'a@b.c', display_name: 'A' })).toBe(
      generateId('email-addr', { value: 'a@b.c' }),
    );
    expect(generateId('file', { name: 'evil.exe', hashes: null, parent_directory_ref: undefined })).toBe(
      'file--3974613c-1980-5209-8f08-17920a04da04',
    );
  });

  it('does not normalise values', () => {
    expect(observableId('domain-name', { value: 'Example.com' })).not.toBe(
      'domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7',
    );
  });

  it('coerces autonomous-system numbers to integers', () => {
    const id = 'autonomous-system--7afc7bdf-d070-5add-90ff-f93503b1654d';
    expect(observableId('autonomous-system', { number: 15169, name: 'AS15169' })).toBe(id);
    expect(observableId('autonomous-system', { number: '15169' })).toBe(id);
    expect(() => observableId('autonomous-system', { number: 'AS15169' })).toThrow(BundleError);
  });

  it('normalises hash names and hashes exactly one, MD5 first', () => {
    const sha256 = '841a8921140aba50671ebb0770fecc4ee308c4952cfeff8de154ab14eeef4649';
    expect(observableId('file', { hashes: { sha256 } })).toBe('file--4c4d56c1-a5a7-5016-95ab-7785fdfb7641');
    expect(observableId('file', { hashes: { 'sha-256': sha256 } })).toBe('file--4c4d56c1-a5a7-5016-95ab-7785fdfb7641');
    const md5 = 'd41d8cd98f00b204e9800998ecf8427e';
    expect(explainId('file', { name: 'a.exe', hashes: { 'SHA-256': sha256, 'SHA-1': 'a'.repeat(40), md5 } })).toEqual({
      id: 'file--7e567502-8994-53ff-9c69-79240cae362d',
      canonical: `{"hashes":{"MD5":"${md5}"},"name":"a.exe"}`,
    });
    expect(observableId('file', { hashes: { FOO: 'abc', BAR: 'def' } })).toBe(
      'file--18753fb3-5c1e-5d59-ac8a-4b3fc1b22def',
    );
  });

  it('prints network-traffic timestamps as stix2 does', () => {
    expect(
      observableId('network-traffic', {
        start: '2024-01-01T00:00:00.500Z',
        src_port: '443',
        protocols: ['tcp'],
      }),
    ).toBe('network-traffic--5e6fc7a9-84ef-5aff-833f-3f12ef5286a1');
  });

  it('gives pycti custom observables value-based ids', () => {
    expect(explainId('user-agent', { value: 'curl/8.0' }).canonical).toBe('{"value":"curl/8.0"}');
    expect(explainId('hostname', { value: 'a.example.com' }).id.startsWith('hostname--')).toBe(true);
    expect(explainId('persona', { persona_name: 'x', persona_type: 'y' }).canonical).toBe(
      '{"persona_name":"x","persona_type":"y"}',
    );
  });
});

describe('no id, no fallback', () => {
  it('names the kind and the missing fields for an observable without contributing property', () => {
    const err = catchError(() => observableId('ipv4-addr', { x_opencti_score: 1 }));
    expect(BundleError.is(err)).toBe(true);
    expect((err as BundleError).message).toMatch(/ipv4-addr/);
    expect((err as BundleError).message).toMatch(/value/);
  });

  it('refuses process, whose STIX id is random', () => {
    expect(() => generateId('process', { pid: 4 })).toThrow(/process/);
  });

  it('refuses an external reference without url nor source_name + external_id', () => {
    const err = catchError(() => externalReferenceId({ source_name: 'x' }));
    expect(BundleError.is(err)).toBe(true);
    expect((err as BundleError).problems).toEqual(['missing url, or source_name and external_id']);
  });

  it('refuses unknown kinds and missing required fields', () => {
    expect(() => generateId('x-mitre-tactic', { name: 'a' })).toThrow(/unknown STIX type 'x-mitre-tactic'/);
    expect(() => generateId('identity', { name: 'a' })).toThrow(/identity.*missing identity_class/);
    expect(() => generateId('identity', { name: 3, identity_class: 'organization' })).toThrow(/name must be a string/);
    expect(() => generateId('sighting', { sighting_of_ref: 'x' })).toThrow(/where_sighted_refs/);
    expect(() => generateId('indicator', { pattern: 'a\ud800' })).toThrow(/surrogate/);
  });
});
