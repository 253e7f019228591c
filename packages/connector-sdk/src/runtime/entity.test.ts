import { describe, expect, it } from 'vitest';
import { InputError } from '../errors/index.js';
import { TLP_MARKING_IDS } from '../stix/index.js';
import { toEnrichmentEntity } from './entity.js';

const ID = 'ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7';
const RED = { standard_id: TLP_MARKING_IDS['TLP:RED'], definition_type: 'TLP', definition: 'TLP:RED' };
const PAP = { standard_id: 'marking-definition--pap', definition_type: 'PAP', definition: 'PAP:AMBER' };
/** The entity as the platform's read returns it. */
const READ = { id: 'internal-1', standard_id: ID, entity_type: 'IPv4-Addr', observable_value: '8.8.8.8' };

describe('toEnrichmentEntity: the read decides, the message only adds its STIX form', () => {
  it('takes the id, type, value and markings from the read, whatever the message STIX says', () => {
    const entity = toEnrichmentEntity(
      { ...READ, objectMarking: [RED, PAP] },
      { type: 'ipv4-addr', id: ID, spec_version: '2.1', value: '8.8.8.8', object_marking_refs: [], x_extra: 1 },
    );
    expect(entity).toMatchObject({ id: ID, entityType: 'IPv4-Addr', value: '8.8.8.8', tlp: 'TLP:RED' });
    // The platform's STIX form is kept (its other fields), with the markings the platform has now.
    expect(entity.stix).toEqual({
      type: 'ipv4-addr',
      id: ID,
      spec_version: '2.1',
      value: '8.8.8.8',
      object_marking_refs: [RED.standard_id, PAP.standard_id],
      x_extra: 1,
    });
  });

  it('drops marking refs the platform does not have', () => {
    const entity = toEnrichmentEntity(READ, { type: 'ipv4-addr', id: ID, object_marking_refs: [RED.standard_id] });
    expect(entity.tlp).toBe('TLP:CLEAR');
    expect(entity.stix).not.toHaveProperty('object_marking_refs');
  });

  it('ignores a STIX form that is not this entity (another id), building one from the read', () => {
    const other = { type: 'ipv4-addr', id: 'ipv4-addr--other', value: '10.0.0.1' };
    const entity = toEnrichmentEntity({ ...READ, objectMarking: [RED] }, other);
    expect(entity.stix).toEqual({
      type: 'ipv4-addr',
      id: ID,
      spec_version: '2.1',
      value: '8.8.8.8',
      object_marking_refs: [RED.standard_id],
    });
  });

  it('ignores a STIX form with this id but another type', () => {
    const entity = toEnrichmentEntity(READ, { type: 'domain-name', id: ID, value: 'forged.example' });
    expect(entity.stix).toMatchObject({ type: 'ipv4-addr', value: '8.8.8.8' });
    expect(entity.value).toBe('8.8.8.8');
  });

  it('accepts the x-opencti- form of the id that some exports give', () => {
    const text = { ...READ, standard_id: 'text--0d1c4f58-55d5-5f7e-9f6a-3b3c1f0e7c11', entity_type: 'Text' };
    const stix = { type: 'x-opencti-text', id: `x-opencti-${text.standard_id}`, value: 'hello', x_kept: true };
    expect(toEnrichmentEntity(text, stix).stix).toMatchObject({ x_kept: true });
  });

  it('refuses a read without type or standard id, rather than taking them from the message', () => {
    const { entity_type: _t, ...untyped } = READ;
    expect(() => toEnrichmentEntity(untyped, { type: 'ipv4-addr', id: ID })).toThrow(InputError);
  });

  describe('in a playbook', () => {
    const playbook = (stix: Record<string, unknown>, objects: Record<string, unknown>[] = []) =>
      toEnrichmentEntity(READ, stix, { playbook: true, objects: [stix, ...objects] });

    it("keeps the bundle's object as the playbook sent it", () => {
      const stix = { type: 'ipv4-addr', id: ID, value: '8.8.8.8', object_marking_refs: [TLP_MARKING_IDS['TLP:GREEN']] };
      const entity = playbook(stix);
      expect(entity.stix).toBe(stix);
      expect(entity.tlp).toBe('TLP:GREEN');
    });

    it('counts a TLP the playbook put on the entity, by its well-known id or its own marking definition', () => {
      expect(playbook({ type: 'ipv4-addr', id: ID, object_marking_refs: [RED.standard_id] }).tlp).toBe('TLP:RED');
      const amber = {
        type: 'marking-definition',
        id: 'marking-definition--own',
        definition_type: 'tlp',
        name: 'TLP:AMBER',
      };
      expect(playbook({ type: 'ipv4-addr', id: ID, object_marking_refs: [amber.id] }, [amber]).tlp).toBe('TLP:AMBER');
      const stix21 = {
        type: 'marking-definition',
        id: 'marking-definition--v21',
        definition_type: 'tlp',
        definition: { tlp: 'red' },
      };
      expect(playbook({ type: 'ipv4-addr', id: ID, object_marking_refs: [stix21.id] }, [stix21]).tlp).toBe('TLP:RED');
    });

    it('counts a TLP marking definition it cannot name as TLP:RED, and ignores other markings', () => {
      const odd = {
        type: 'marking-definition',
        id: 'marking-definition--odd',
        definition_type: 'TLP',
        name: 'TLP:EX:CHEMICALS',
      };
      const statement = { type: 'marking-definition', id: 'marking-definition--st', definition_type: 'statement' };
      expect(playbook({ type: 'ipv4-addr', id: ID, object_marking_refs: [odd.id] }, [odd]).tlp).toBe('TLP:RED');
      expect(
        playbook({ type: 'ipv4-addr', id: ID, object_marking_refs: [statement.id, 'marking-definition--unknown'] }, [
          statement,
        ]).tlp,
      ).toBe('TLP:CLEAR');
    });

    it("never lowers the platform's markings", () => {
      const entity = toEnrichmentEntity(
        { ...READ, objectMarking: [RED] },
        { type: 'ipv4-addr', id: ID },
        { playbook: true },
      );
      expect(entity.tlp).toBe('TLP:RED');
    });
  });
});
