import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { markingDefinitionId, TLP_MARKING_IDS } from './ids.js';
import {
  entityTlp,
  maxTlpAllows,
  parseTlp,
  TLP_LEVELS,
  type TlpLevel,
  tlpMarkingDefinition,
  tlpOfMarkingId,
  tlpSchema,
  unknownTlpMarkings,
} from './tlp.js';

describe('parseTlp', () => {
  it.each([
    ['amber+strict', 'TLP:AMBER+STRICT'],
    ['TLP:AMBER+STRICT', 'TLP:AMBER+STRICT'],
    ['white', 'TLP:CLEAR'],
    ['TLP:WHITE', 'TLP:CLEAR'],
    ['clear', 'TLP:CLEAR'],
    [' TLP:Green ', 'TLP:GREEN'],
    ['tlp:amber', 'TLP:AMBER'],
    ['RED', 'TLP:RED'],
  ] as const)('%j → %s', (input, expected) => {
    expect(parseTlp(input)).toBe(expected);
  });

  it.each(['', 'amber strict', 'TLP:', 'PAP:RED', 'TLP:EX:CHEMICALS', 'orange'])('rejects %j', (input) => {
    expect(() => parseTlp(input)).toThrow(/is not a TLP level \(expected clear, white, green, amber/);
  });
});

describe('tlpSchema', () => {
  it('parses an env string into a level', () => {
    expect(tlpSchema.parse('amber+strict')).toBe('TLP:AMBER+STRICT');
    expect(z.object({ MAX_TLP: tlpSchema }).parse({ MAX_TLP: 'white' })).toEqual({ MAX_TLP: 'TLP:CLEAR' });
  });

  it('reports a readable issue at the variable', () => {
    const result = z.object({ MAX_TLP: tlpSchema }).safeParse({ MAX_TLP: 'TLP:PURPLE' });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['MAX_TLP'],
        message:
          "'TLP:PURPLE' is not a TLP level (expected clear, white, green, amber, amber+strict or red, with or without the TLP: prefix)",
      }),
    ]);
  });
});

describe('maxTlpAllows (pycti check_max_tlp)', () => {
  // The table of reference/protocol-notes.md#tlp, written out rather than derived from the ordering.
  const allowed: Record<TlpLevel, TlpLevel[]> = {
    'TLP:RED': ['TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT', 'TLP:RED'],
    'TLP:AMBER+STRICT': ['TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT'],
    'TLP:AMBER': ['TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER'],
    'TLP:GREEN': ['TLP:CLEAR', 'TLP:GREEN'],
    'TLP:CLEAR': ['TLP:CLEAR'],
  };

  it.each(TLP_LEVELS.flatMap((max) => TLP_LEVELS.map((tlp) => [max, tlp] as const)))('max %s, data %s', (max, tlp) => {
    expect(maxTlpAllows(max, tlp)).toBe(allowed[max].includes(tlp));
  });
});

describe('entityTlp', () => {
  const tlp = (definition: string | null) => ({ definition_type: 'TLP', definition });

  it('is TLP:CLEAR without TLP markings', () => {
    expect(entityTlp([])).toBe('TLP:CLEAR');
    expect(entityTlp(undefined)).toBe('TLP:CLEAR');
    expect(entityTlp([{ definition_type: 'PAP', definition: 'PAP:RED' }])).toBe('TLP:CLEAR');
    expect(entityTlp([{ definition_type: 'statement', definition: 'Copyright' }])).toBe('TLP:CLEAR');
  });

  it('takes the highest TLP, not the last one', () => {
    expect(entityTlp([tlp('TLP:RED'), tlp('TLP:GREEN')])).toBe('TLP:RED');
    expect(entityTlp([tlp('TLP:GREEN'), tlp('TLP:AMBER+STRICT'), tlp('TLP:AMBER')])).toBe('TLP:AMBER+STRICT');
    expect(entityTlp([tlp('TLP:WHITE')])).toBe('TLP:CLEAR');
  });

  it('counts an unknown TLP definition as TLP:RED, and names it', () => {
    expect(entityTlp([tlp('TLP:GREEN'), tlp('TLP:EX:CHEMICALS')])).toBe('TLP:RED');
    expect(unknownTlpMarkings([tlp('TLP:GREEN'), tlp('TLP:EX:CHEMICALS')])).toEqual(['TLP:EX:CHEMICALS']);
    expect(unknownTlpMarkings([tlp('TLP:RED'), tlp('TLP:AMBER+STRICT')])).toEqual([]);
    expect(entityTlp([tlp(null)])).toBe('TLP:RED');
  });

  it('reads OpenCTI objectMarking entries as the platform sends them', () => {
    const objectMarking = [
      {
        id: 'a3b5e0a3-9b0e-4a6b-8c38-8a1d3c2b1f00',
        standard_id: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
        definition_type: 'TLP',
        definition: 'TLP:AMBER',
        x_opencti_order: 3,
      },
      { definition_type: 'PAP', definition: 'PAP:CLEAR' },
    ];
    expect(entityTlp(objectMarking)).toBe('TLP:AMBER');
  });
});

describe('tlpMarkingDefinition', () => {
  it('builds stix2 TLP 1.0 objects for GREEN, AMBER and RED', () => {
    expect(tlpMarkingDefinition('TLP:GREEN')).toEqual({
      type: 'marking-definition',
      spec_version: '2.1',
      id: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
      created: '2017-01-20T00:00:00.000Z',
      definition_type: 'tlp',
      name: 'TLP:GREEN',
      definition: { tlp: 'green' },
    });
    expect(tlpMarkingDefinition('TLP:RED').definition).toEqual({ tlp: 'red' });
    expect(tlpMarkingDefinition('TLP:AMBER').id).toBe('marking-definition--f88d31f6-486f-44da-b317-01333bde0b82');
  });

  it('builds OpenCTI statement markings for CLEAR and AMBER+STRICT with the fixed ids', () => {
    expect(tlpMarkingDefinition('TLP:AMBER+STRICT')).toEqual({
      type: 'marking-definition',
      spec_version: '2.1',
      id: 'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37',
      created: '2017-01-20T00:00:00.000Z',
      definition_type: 'statement',
      name: 'TLP:AMBER+STRICT',
      definition: { statement: 'custom' },
      x_opencti_definition_type: 'TLP',
      x_opencti_definition: 'TLP:AMBER+STRICT',
    });
    expect(tlpMarkingDefinition('TLP:CLEAR')).toMatchObject({
      id: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
      x_opencti_definition: 'TLP:CLEAR',
    });
  });

  it('uses the id pycti computes for each level', () => {
    for (const level of TLP_LEVELS) {
      expect(tlpMarkingDefinition(level).id).toBe(markingDefinitionId('TLP', level));
      expect(tlpOfMarkingId(TLP_MARKING_IDS[level])).toBe(level);
    }
    expect(tlpOfMarkingId('marking-definition--00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });
});
