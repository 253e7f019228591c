import { describe, expect, it } from 'vitest';
import { TestPlatformError } from './errors.js';
import { customMarking, isTlpLevel, TLP_MARKING_IDS, tlpMarking } from './markings.js';

describe('TLP markings as the platform returns them', () => {
  it('uses the fixed standard ids and definition_type TLP', () => {
    for (const [level, id] of Object.entries(TLP_MARKING_IDS)) {
      const marking = tlpMarking(level);
      expect(marking.standard_id).toBe(id);
      expect(marking.definition_type).toBe('TLP');
      expect(marking.definition).toBe(level);
      expect(marking.entity_type).toBe('Marking-Definition');
    }
  });

  it('orders CLEAR < GREEN < AMBER = AMBER+STRICT < RED, as the platform initialises them', () => {
    const order = ['TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT', 'TLP:RED'].map(
      (level) => tlpMarking(level).x_opencti_order,
    );
    expect(order).toEqual([1, 2, 3, 3, 4]);
  });

  it('maps TLP:WHITE onto TLP:CLEAR and accepts levels without prefix or in lower case', () => {
    expect(tlpMarking('TLP:WHITE')).toEqual(tlpMarking('TLP:CLEAR'));
    expect(tlpMarking('amber').standard_id).toBe(TLP_MARKING_IDS['TLP:AMBER']);
    expect(tlpMarking('tlp:amber+strict').definition).toBe('TLP:AMBER+STRICT');
    expect(isTlpLevel('red')).toBe(true);
    expect(isTlpLevel('PAP:RED')).toBe(false);
  });

  it('refuses an unknown level with a message naming the valid ones', () => {
    expect(() => tlpMarking('TLP:PURPLE')).toThrow(TestPlatformError);
    expect(() => tlpMarking('TLP:PURPLE')).toThrow(/TLP:AMBER\+STRICT/);
  });

  it('gives stable internal ids, so two runs produce identical objects', () => {
    expect(tlpMarking('TLP:RED').id).toBe(tlpMarking('TLP:RED').id);
    expect(tlpMarking('TLP:RED').id).not.toBe(tlpMarking('TLP:GREEN').id);
  });

  it('hashes non-TLP markings, and TLP definitions only match the static table exactly', () => {
    const pap = customMarking({ definition_type: 'PAP', definition: 'PAP:RED', x_opencti_order: 4 });
    expect(pap.definition_type).toBe('PAP');
    expect(pap.standard_id).toMatch(/^marking-definition--[0-9a-f-]{36}$/);
    expect(customMarking({ definition_type: 'TLP', definition: 'TLP:GREEN' }).standard_id).toBe(
      TLP_MARKING_IDS['TLP:GREEN'],
    );
    // golden-ids.json: a lower-case definition falls through to the UUIDv5 rule.
    expect(customMarking({ definition_type: 'TLP', definition: 'tlp:red' }).standard_id).toBe(
      'marking-definition--a349d407-468a-5caa-9e9b-508bb6bef169',
    );
  });
});
