import { describe, expect, it } from 'vitest';
import { OPENCTI_SCO_EXTENSION } from './ids.js';
import { updateObservable } from './observable-update.js';

const ref = { source_name: 'CrowdSec CTI', url: 'https://app.crowdsec.net/cti/1.2.3.4', description: 'CTI' };

describe('updateObservable', () => {
  it('writes merged labels and references into the extension of a platform copy, where the worker reads them', () => {
    const platformCopy = {
      type: 'ipv4-addr',
      id: 'ipv4-addr--1',
      value: '1.2.3.4',
      extensions: { [OPENCTI_SCO_EXTENSION]: { labels: ['old'], score: 50, description: 'd' } },
    };
    const out = updateObservable(platformCopy, {
      addLabels: ['new', 'old'],
      addExternalReferences: [ref],
      description: 'x',
    });
    const ext = (out.extensions as Record<string, Record<string, unknown>>)[OPENCTI_SCO_EXTENSION];
    expect(ext?.labels).toEqual(['old', 'new']);
    expect(out.x_opencti_labels).toEqual(['old', 'new']);
    expect(out.external_references).toEqual([ref]);
    expect(ext?.external_references).toEqual([ref]);
    expect(out.x_opencti_external_references).toEqual([ref]);
    expect(ext?.description).toBe('x');
    expect(out.x_opencti_description).toBe('x');
    expect(platformCopy.extensions[OPENCTI_SCO_EXTENSION].labels).toEqual(['old']); // the input is not changed
  });

  it('merges with top-level x_opencti fields (pycti export form) and replaces a reference by its id', () => {
    const pyctiForm = {
      type: 'ipv4-addr',
      id: 'ipv4-addr--1',
      value: '1.2.3.4',
      x_opencti_labels: ['a'],
      external_references: [{ ...ref, description: 'older text' }],
    };
    const out = updateObservable(pyctiForm, { addLabels: ['b'], addExternalReferences: [ref] });
    expect(out.x_opencti_labels).toEqual(['a', 'b']);
    expect(out.external_references).toEqual([ref]);
    expect('labels' in out).toBe(false);
  });
});
