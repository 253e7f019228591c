import { describe, expect, it } from 'vitest';
import { toEnrichmentEntity } from './entity.js';

const amber = {
  id: 'm-amber',
  standard_id: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  entity_type: 'Marking-Definition',
  definition_type: 'TLP',
  definition: 'TLP:AMBER',
  x_opencti_order: 3,
};

describe('toEnrichmentEntity', () => {
  it('maps an observable answer of READ_STIX_CORE_OBJECT', () => {
    const raw = {
      id: 'e1',
      standard_id: 'ipv4-addr--a',
      entity_type: 'IPv4-Addr',
      parent_types: ['Basic-Object', 'Stix-Object', 'Stix-Core-Object', 'Stix-Cyber-Observable'],
      representative: { main: '1.2.3.4' },
      objectMarking: [amber, { id: 'broken' }],
      createdBy: { id: 'i1', standard_id: 'identity--1', name: 'ACME' },
      objectLabel: [{ value: 'scanner' }, { value: null }],
      externalReferences: {
        edges: [
          { node: { source_name: 'crowdsec', url: 'https://app.crowdsec.net/cti/1.2.3.4', external_id: null } },
          { node: { url: 'no source' } },
        ],
      },
      observable_value: '1.2.3.4',
      x_opencti_description: 'seen scanning',
      x_opencti_score: 50,
      value: '1.2.3.4',
    };
    const entity = toEnrichmentEntity(raw);
    expect(entity).toEqual({
      id: 'e1',
      standard_id: 'ipv4-addr--a',
      entity_type: 'IPv4-Addr',
      parent_types: raw.parent_types,
      value: '1.2.3.4',
      representative: '1.2.3.4',
      description: 'seen scanning',
      score: 50,
      objectMarking: [amber],
      createdBy: { id: 'i1', standard_id: 'identity--1', name: 'ACME' },
      objectLabel: ['scanner'],
      externalReferences: [{ source_name: 'crowdsec', url: 'https://app.crowdsec.net/cti/1.2.3.4', external_id: null }],
      raw,
    });
  });

  it('falls back to observable_value for observables without a value field', () => {
    const entity = toEnrichmentEntity({
      id: 'e2',
      standard_id: 'file--1',
      entity_type: 'StixFile',
      parent_types: [],
      observable_value: 'e3b0c44298fc1c149afbf4c8996fb924',
    });
    expect(entity?.value).toBe('e3b0c44298fc1c149afbf4c8996fb924');
    expect(entity?.objectMarking).toEqual([]);
    expect(entity?.createdBy).toBeUndefined();
  });

  it('maps an Indicator with its name and pattern', () => {
    const entity = toEnrichmentEntity({
      id: 'e3',
      standard_id: 'indicator--1',
      entity_type: 'Indicator',
      parent_types: ['Stix-Domain-Object'],
      name: '1.2.3.4',
      pattern: "[ipv4-addr:value = '1.2.3.4']",
      pattern_type: 'stix',
      createdBy: null,
      objectMarking: null,
    });
    expect(entity).toMatchObject({ name: '1.2.3.4', pattern: "[ipv4-addr:value = '1.2.3.4']", pattern_type: 'stix' });
    expect(entity?.value).toBeUndefined();
  });

  it('returns null for no entity and rejects an answer without identity fields', () => {
    expect(toEnrichmentEntity(null)).toBeNull();
    expect(() => toEnrichmentEntity({ id: 'e4', entity_type: 'IPv4-Addr' })).toThrow(/standard_id/);
    expect(() => toEnrichmentEntity('text')).toThrow(TypeError);
  });
});
