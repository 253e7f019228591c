import { describe, expect, it } from 'vitest';
import { cleanObject, EntityStore, STIX_EXT_OCTI, STIX_EXT_OCTI_SCO } from './entities.js';
import { TestPlatformError } from './errors.js';
import { deterministicStixId } from './ids.js';
import { TLP_MARKING_IDS } from './markings.js';

const fixedNow = () => new Date('2026-01-02T03:04:05.000Z');

describe('EntityStore', () => {
  it('stores an observable with the platform ids and renders the STIX 2.1 form of convertStoreToStix_2_1', () => {
    const store = new EntityStore(fixedNow);
    const ip = store.add({
      entity_type: 'IPv4-Addr',
      value: '8.8.8.8',
      markings: ['TLP:AMBER'],
      labels: ['dns'],
      score: 50,
      createdBy: 'ACME',
      externalReferences: [{ source_name: 'ref', url: 'https://example.com/8.8.8.8' }],
    });
    expect(ip.standard_id).toBe('ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7');
    expect(ip.parent_types).toContain('Stix-Cyber-Observable');
    // A bare author name becomes an Organization with the platform's identity id rule.
    expect(ip.createdBy?.entity_type).toBe('Organization');
    expect(ip.createdBy?.standard_id).toBe(
      deterministicStixId('identity', { name: 'acme', identity_class: 'organization' }),
    );
    expect(ip.stix_entity).toEqual({
      id: 'ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7',
      spec_version: '2.1',
      type: 'ipv4-addr',
      value: '8.8.8.8',
      object_marking_refs: [TLP_MARKING_IDS['TLP:AMBER']],
      extensions: {
        [STIX_EXT_OCTI]: {
          extension_type: 'property-extension',
          id: ip.id,
          type: 'IPv4-Addr',
          created_at: '2026-01-02T03:04:05.000Z',
          updated_at: '2026-01-02T03:04:05.000Z',
          is_inferred: false,
        },
        [STIX_EXT_OCTI_SCO]: {
          extension_type: 'property-extension',
          labels: ['dns'],
          score: 50,
          created_by_ref: ip.createdBy?.standard_id,
          external_references: [{ source_name: 'ref', url: 'https://example.com/8.8.8.8' }],
        },
      },
    });
  });

  it('drops empty fields and the observable extension when it would only carry its type', () => {
    const store = new EntityStore(fixedNow);
    const domain = store.add({ entity_type: 'Domain-Name', value: 'example.com' });
    expect(domain.stix_entity.object_marking_refs).toBeUndefined();
    expect(Object.keys(domain.stix_entity.extensions as object)).toEqual([STIX_EXT_OCTI]);
  });

  it('renders identities and indicators as domain objects with their own fields', () => {
    const store = new EntityStore(fixedNow);
    const org = store.add({ entity_type: 'Organization', name: 'ACME Corp' });
    expect(org.standard_id).toBe('identity--542072da-8b33-50bf-810b-d9cfd2a0bc69');
    expect(org.stix_entity).toMatchObject({ type: 'identity', name: 'ACME Corp', identity_class: 'organization' });
    const indicator = store.add({
      entity_type: 'Indicator',
      pattern: "[ipv4-addr:value = '8.8.8.8']",
      pattern_type: 'stix',
      markings: ['TLP:GREEN'],
      createdBy: org,
    });
    expect(indicator.standard_id).toBe('indicator--7ad3d74b-c761-522d-9359-5e7565a3abb4');
    expect(indicator.stix_entity).toMatchObject({
      type: 'indicator',
      pattern: "[ipv4-addr:value = '8.8.8.8']",
      pattern_type: 'stix',
      created_by_ref: org.standard_id,
      object_marking_refs: [TLP_MARKING_IDS['TLP:GREEN']],
      revoked: false,
    });
  });

  it('finds an entity by internal id or standard id, and replaces one re-added with the same standard id', () => {
    const store = new EntityStore(fixedNow);
    const first = store.add({ entity_type: 'Url', value: 'https://a.example/' });
    expect(store.get(first.id)).toBe(first);
    expect(store.get(first.standard_id)).toBe(first);
    const again = store.add({ entity_type: 'Url', value: 'https://a.example/', labels: ['x'] });
    expect(store.all()).toHaveLength(1);
    expect(store.get(first.standard_id)).toBe(again);
  });

  it('honours explicit ids and STIX overrides', () => {
    const store = new EntityStore(fixedNow);
    const e = store.add({
      entity_type: 'Hostname',
      value: 'host.local',
      id: 'internal-1',
      standard_id: 'hostname--00000000-0000-5000-8000-000000000000',
      stix: { x_custom: true },
    });
    expect(store.get('internal-1')?.standard_id).toBe('hostname--00000000-0000-5000-8000-000000000000');
    expect(e.stix_entity.x_custom).toBe(true);
    expect(e.stix_entity.id).toBe('hostname--00000000-0000-5000-8000-000000000000');
  });

  it('refuses unmodelled types and missing identifying fields with a clear message', () => {
    const store = new EntityStore(fixedNow);
    expect(() => store.add({ entity_type: 'Mutex', name: 'x' })).toThrow(TestPlatformError);
    expect(() => store.add({ entity_type: 'Mutex', name: 'x' })).toThrow(/IPv4-Addr/);
    expect(() => store.add({ entity_type: 'IPv4-Addr' })).toThrow(/needs "value"/);
    expect(() =>
      store.add({ entity_type: 'Url', value: 'u', createdBy: { entity_type: 'Malware', name: 'm' } }),
    ).toThrow(/identity/);
  });
});

describe('cleanObject', () => {
  it('removes null, undefined, empty strings, arrays and objects but keeps false and 0', () => {
    expect(cleanObject({ a: null, b: undefined, c: '', d: [], e: {}, f: false, g: 0, h: 'x' })).toEqual({
      f: false,
      g: 0,
      h: 'x',
    });
  });
});
