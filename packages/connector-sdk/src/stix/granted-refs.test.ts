import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grantedOrganizations, shareWithOrganizations } from './granted-refs.js';
import { OPENCTI_SCO_EXTENSION, OPENCTI_SDO_EXTENSION } from './ids.js';
import type { StixBundle, StixObject } from './types.js';

const ALPHA = 'identity--0a1b2c3d-4e5f-5a6b-8c7d-9e0f1a2b3c4d';
const BETA = 'identity--1b2c3d4e-5f6a-5b7c-9d8e-0f1a2b3c4d5e';
const GAMMA = 'identity--2c3d4e5f-6a7b-5c8d-8e9f-1a2b3c4d5e6f';

const observable = (extensions: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'ipv4-addr',
  spec_version: '2.1',
  id: 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd',
  value: '198.51.100.7',
  extensions,
});

describe('grantedOrganizations (read as pycti reads the enriched entity)', () => {
  it('takes x_opencti_granted_refs when the key is there, even empty', () => {
    expect(grantedOrganizations({ ...observable(), x_opencti_granted_refs: [ALPHA] })).toEqual([ALPHA]);
    const both = {
      ...observable({ [OPENCTI_SDO_EXTENSION]: { granted_refs: [BETA] } }),
      x_opencti_granted_refs: [],
    };
    expect(grantedOrganizations(both)).toEqual([]);
  });

  it('else the object extension’s granted_refs, then the observable extension’s', () => {
    expect(grantedOrganizations(observable({ [OPENCTI_SDO_EXTENSION]: { granted_refs: [ALPHA, BETA] } }))).toEqual([
      ALPHA,
      BETA,
    ]);
    expect(grantedOrganizations(observable({ [OPENCTI_SCO_EXTENSION]: { granted_refs: [BETA] } }))).toEqual([BETA]);
    expect(grantedOrganizations(observable())).toEqual([]);
  });

  it('ignores what is not an id', () => {
    expect(grantedOrganizations({ x_opencti_granted_refs: [ALPHA, 3, null, ''] })).toEqual([ALPHA]);
    expect(grantedOrganizations({ x_opencti_granted_refs: 'Alpha' })).toEqual([]);
  });
});

describe('shareWithOrganizations', () => {
  const sdo = {
    type: 'note',
    spec_version: '2.1',
    id: 'note--0b1c2d3e-4f50-4a61-8b72-93a4b5c6d7e8',
    content: 'x',
    object_refs: [observable().id],
  };
  const bundle = (...objects: Array<Record<string, unknown>>): StixBundle => ({
    type: 'bundle',
    id: 'bundle--5d6e7f80-91a2-4b3c-8d4e-5f60718293a4',
    spec_version: '2.1',
    objects: objects as StixObject[],
  });

  it('writes the OpenCTI extension when the object has it, x_opencti_granted_refs otherwise', () => {
    const platformCopy = observable({
      [OPENCTI_SDO_EXTENSION]: { extension_type: 'property-extension', granted_refs: [GAMMA] },
      [OPENCTI_SCO_EXTENSION]: { extension_type: 'property-extension', labels: ['x'] },
    });
    const shared = shareWithOrganizations(bundle(platformCopy, { ...sdo, x_opencti_granted_refs: [GAMMA] }, sdo), [
      ALPHA,
      BETA,
    ]);
    const [copy, marked, plain] = shared.objects as Array<Record<string, unknown>>;
    const extensions = copy?.extensions as Record<string, Record<string, unknown>>;
    expect(extensions[OPENCTI_SDO_EXTENSION]?.granted_refs).toEqual([GAMMA, ALPHA, BETA]);
    expect(copy).not.toHaveProperty('x_opencti_granted_refs');
    expect(marked?.x_opencti_granted_refs).toEqual([GAMMA, ALPHA, BETA]);
    expect(plain?.x_opencti_granted_refs).toEqual([ALPHA, BETA]);
  });

  it('leaves the input alone and changes nothing without organisations', () => {
    const input = bundle(sdo);
    const before = structuredClone(input);
    shareWithOrganizations(input, [ALPHA]);
    expect(input).toEqual(before);
    expect(shareWithOrganizations(input, [])).toBe(input);
  });

  it('every object ends shared with every organisation, once, keeping its own (property-based)', () => {
    const id = fc.uuid().map((u) => `identity--${u}`);
    fc.assert(
      fc.property(
        fc.array(id, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.boolean(), fc.array(id, { maxLength: 3 })), { minLength: 1, maxLength: 5 }),
        (organizations, shapes) => {
          const objects = shapes.map(([extension, own], i) =>
            extension
              ? { ...sdo, id: `note--${i}`, extensions: { [OPENCTI_SDO_EXTENSION]: { granted_refs: own } } }
              : { ...sdo, id: `note--${i}`, x_opencti_granted_refs: own },
          );
          const shared = shareWithOrganizations(bundle(...objects), organizations);
          shared.objects.forEach((object, i) => {
            const refs = grantedOrganizations(object as Record<string, unknown>);
            const own = shapes[i]?.[1] ?? [];
            expect(new Set(refs)).toEqual(new Set([...own, ...organizations]));
            expect(refs).toHaveLength(new Set(refs).size);
          });
        },
      ),
    );
  });
});
