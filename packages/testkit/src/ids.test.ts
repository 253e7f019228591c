import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type EntityInput, standardIdOf } from './entities.js';
import { canonicalJson, deterministicStixId, uuidV5 } from './ids.js';

interface GoldenVector {
  kind: string;
  input: Record<string, unknown>;
  id: string;
  canonical?: string;
  note?: string;
}

const golden = JSON.parse(
  readFileSync(new URL('../../../reference/golden-ids.json', import.meta.url), 'utf8'),
) as GoldenVector[];

const SCO_ENTITY_TYPES: Record<string, string> = {
  'ipv4-addr': 'IPv4-Addr',
  'ipv6-addr': 'IPv6-Addr',
  'domain-name': 'Domain-Name',
  url: 'Url',
  'email-addr': 'Email-Addr',
  hostname: 'Hostname',
  'autonomous-system': 'Autonomous-System',
};
const NAMED_ENTITY_TYPES: Record<string, string> = {
  malware: 'Malware',
  vulnerability: 'Vulnerability',
  campaign: 'Campaign',
  'intrusion-set': 'Intrusion-Set',
  tool: 'Tool',
  'attack-pattern': 'Attack-Pattern',
  indicator: 'Indicator',
  report: 'Report',
};
const IDENTITY_CLASSES: Record<string, string> = {
  organization: 'Organization',
  individual: 'Individual',
  system: 'System',
  class: 'Sector',
};

/** The golden vectors whose rule the testkit models, as addEntity inputs. JS-trim edge cases are skipped. */
function modelled(vector: GoldenVector): EntityInput | undefined {
  if (vector.note?.includes('trim')) return undefined;
  if (vector.kind === 'sco') {
    const entityType = SCO_ENTITY_TYPES[String(vector.input.type)];
    if (entityType === undefined) return undefined;
    const { number, value } = vector.input;
    return number === undefined
      ? { entity_type: entityType, value: String(value) }
      : { entity_type: entityType, number: Number(number) };
  }
  if (vector.kind === 'identity') {
    const entityType = IDENTITY_CLASSES[String(vector.input.identity_class)];
    return entityType === undefined ? undefined : { entity_type: entityType, name: String(vector.input.name) };
  }
  const entityType = NAMED_ENTITY_TYPES[vector.kind];
  if (entityType === undefined) return undefined;
  return { entity_type: entityType, ...(vector.input as Partial<EntityInput>) };
}

describe('deterministic ids', () => {
  it('computes the STIX 2.1 specification examples', () => {
    expect(deterministicStixId('domain-name', { value: 'example.com' })).toBe(
      'domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7',
    );
    expect(deterministicStixId('ipv4-addr', { value: '8.8.8.8' })).toBe(
      'ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7',
    );
  });

  it('produces RFC 4122 version-5 UUIDs', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('canonicalises like JCS: sorted keys at every depth, no whitespace, JS number formatting', () => {
    expect(canonicalJson({ b: [{ z: 1, a: 'x' }], a: 48.0, c: 1e-7 })).toBe('{"a":48,"b":[{"a":"x","z":1}],"c":1e-7}');
    const vector = golden.find((v) => v.id.startsWith('windows-registry-key--'));
    expect(vector?.canonical).toBeDefined();
    expect(canonicalJson({ values: vector?.input.values })).toBe(vector?.canonical);
  });

  const cases = golden.flatMap((vector) => {
    const input = modelled(vector);
    return input === undefined ? [] : [[vector.id, input, vector] as const];
  });

  it('covers observables, identities and named domain objects from the golden vectors', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
    const kinds = new Set(cases.map(([, , vector]) => vector.kind));
    expect([...kinds]).toEqual(expect.arrayContaining(['sco', 'identity', 'malware', 'indicator', 'report']));
  });

  it.each(cases)('gives %s', (id, input) => {
    expect(standardIdOf(input)).toBe(id);
  });
});
