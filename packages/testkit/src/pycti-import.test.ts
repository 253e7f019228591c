import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeImport } from './knowledge.js';
import { OCTI_EXTENSION, OCTI_SCO_EXTENSION, readAsPycti } from './pycti-import.js';

const ID = 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd';
const AUTHOR = 'identity--5f18c204-0a7f-5061-a146-d29561d9c8aa';
const OTHER = 'identity--56893999-5bf3-58e3-8d7c-58412a6603c3';

/** An observable as the platform sends it: its OpenCTI fields in the two extensions. */
function platformCopy(sco: Record<string, unknown>, octi: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'ipv4-addr',
    id: ID,
    spec_version: '2.1',
    value: '198.51.100.7',
    extensions: {
      [OCTI_EXTENSION]: { extension_type: 'property-extension', id: 'internal', ...octi },
      [OCTI_SCO_EXTENSION]: { extension_type: 'property-extension', ...sco },
    },
  };
}

describe('readAsPycti: labels', () => {
  it('drops labels written only to x_opencti_labels when the platform copy has extension labels', () => {
    const resent = { ...platformCopy({ labels: ['existing'] }), x_opencti_labels: ['existing', 'added'] };
    expect(readAsPycti(resent, true).labels).toEqual(['existing']);
  });

  it('takes top-level labels first, even an empty list', () => {
    const resent = { ...platformCopy({ labels: ['existing'] }), labels: [], x_opencti_labels: ['added'] };
    expect(readAsPycti(resent, true).labels).toEqual([]);
  });

  it('takes x_opencti_labels when the extensions have none, then x_opencti_tags', () => {
    expect(readAsPycti({ ...platformCopy({}), x_opencti_labels: ['a'] }, true).labels).toEqual(['a']);
    expect(readAsPycti({ ...platformCopy({}), x_opencti_tags: [{ value: 't', color: '#fff' }] }, true).labels).toEqual([
      't',
    ]);
  });

  it('always picks the first of top level, extension, x_opencti_labels that is there (property-based)', () => {
    const list = fc.option(fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }), { nil: undefined });
    fc.assert(
      fc.property(list, list, list, (top, ext, flat) => {
        const object: Record<string, unknown> = platformCopy(ext === undefined ? {} : { labels: ext });
        if (top !== undefined) object.labels = top;
        if (flat !== undefined) object.x_opencti_labels = flat;
        const expected = top ?? ext ?? flat ?? [];
        expect(readAsPycti(object, true).labels).toEqual(expected);
      }),
    );
  });
});

describe('readAsPycti: the other fields', () => {
  it('created-by: created_by_ref, else x_opencti_created_by_ref, else the extension', () => {
    expect(
      readAsPycti({ ...platformCopy({ created_by_ref: OTHER }), x_opencti_created_by_ref: AUTHOR }, true).createdBy,
    ).toBe(AUTHOR);
    expect(readAsPycti(platformCopy({ created_by_ref: OTHER }), true).createdBy).toBe(OTHER);
    expect(
      readAsPycti({ ...platformCopy({}), created_by_ref: OTHER, x_opencti_created_by_ref: AUTHOR }, true).createdBy,
    ).toBe(OTHER);
  });

  it('external references: the top-level list, else the extension’s when the key is absent, else x_opencti_*', () => {
    const ext = [{ source_name: 'platform', url: 'https://platform.example/1' }];
    const added = [{ source_name: 'vendor', url: 'https://vendor.example/1' }];
    expect(
      readAsPycti({ ...platformCopy({ external_references: ext }), x_opencti_external_references: added }, true)
        .externalReferences,
    ).toEqual(ext);
    expect(
      readAsPycti({ ...platformCopy({ external_references: ext }), external_references: added }, true)
        .externalReferences,
    ).toEqual(added);
    expect(readAsPycti({ ...platformCopy({}), x_opencti_external_references: added }, true).externalReferences).toEqual(
      added,
    );
  });

  it('organisations: x_opencti_granted_refs when the key is there, else the extensions’ granted_refs', () => {
    expect(readAsPycti(platformCopy({}, { granted_refs: [AUTHOR] }), true).organizations).toEqual([AUTHOR]);
    expect(
      readAsPycti({ ...platformCopy({}, { granted_refs: [AUTHOR] }), x_opencti_granted_refs: [OTHER] }, true)
        .organizations,
    ).toEqual([OTHER]);
  });

  it('score and description: x_opencti_* when the key is there, else the extension', () => {
    const copy = platformCopy({ score: 10, description: 'platform' });
    expect(readAsPycti(copy, true)).toMatchObject({ score: 10, description: 'platform' });
    expect(readAsPycti({ ...copy, x_opencti_score: 90, x_opencti_description: 'vendor' }, true)).toMatchObject({
      score: 90,
      description: 'vendor',
    });
  });
});

describe('mergeImport (the upsert)', () => {
  const base = {
    id: ID,
    type: 'ipv4-addr',
    createdBy: OTHER,
    markings: ['m1'],
    labels: ['a'],
    externalReferences: [{ source_name: 's', url: 'https://s/1' }],
    organizations: ['o1'],
    score: 10,
    description: 'd',
    files: [
      { name: 'a.png', mimeType: 'image/png', data: Uint8Array.from([1]), noTriggerImport: true },
      { name: 'b.png', mimeType: 'image/png', data: Uint8Array.from([2]), noTriggerImport: true },
    ],
    imports: 0,
  };

  it('uploads files: a new name is added, the same name replaces the earlier file', () => {
    const newer = { name: 'b.png', mimeType: 'image/png', data: Uint8Array.from([3]), noTriggerImport: false };
    const other = { name: 'c.pdf', mimeType: null, data: Uint8Array.from([4]), noTriggerImport: false };
    const merged = mergeImport(base, { ...readAsPycti({ type: 'ipv4-addr' }, true), files: [newer, other] });
    expect(merged.files.map((f) => [f.name, [...f.data]])).toEqual([
      ['a.png', [1]],
      ['b.png', [3]],
      ['c.pdf', [4]],
    ]);
  });

  it('reads x_opencti_files as the importer does: name, base64 data, mime type, no_trigger_import', () => {
    const fields = readAsPycti(
      {
        type: 'url',
        x_opencti_files: [
          {
            name: 'shot.png',
            data: Buffer.from([0x89, 0x50]).toString('base64'),
            mime_type: 'image/png',
            no_trigger_import: true,
          },
          { name: 'no-data.png' },
          'junk',
        ],
      },
      true,
    );
    expect(fields.files.map((f) => [f.name, f.mimeType, [...f.data], f.noTriggerImport])).toEqual([
      ['shot.png', 'image/png', [0x89, 0x50], true],
    ]);
  });

  it('adds lists, replaces what is named, keeps what is not', () => {
    const merged = mergeImport(base, {
      createdBy: AUTHOR,
      markings: ['m2', 'm1'],
      labels: ['b'],
      externalReferences: [
        { source_name: 's', url: 'https://s/1' },
        { source_name: 't', external_id: 'T1' },
      ],
      organizations: ['o2'],
      score: undefined,
      description: undefined,
      files: [],
    });
    expect(merged).toEqual({
      ...base,
      createdBy: AUTHOR,
      markings: ['m1', 'm2'],
      labels: ['a', 'b'],
      externalReferences: [
        { source_name: 's', url: 'https://s/1' },
        { source_name: 't', external_id: 'T1' },
      ],
      organizations: ['o1', 'o2'],
      imports: 1,
    });
  });
});
