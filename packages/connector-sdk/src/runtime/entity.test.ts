import { describe, expect, it } from 'vitest';
import { InputError } from '../errors/index.js';
import { grantedOrganizations, OPENCTI_SCO_EXTENSION, OPENCTI_SDO_EXTENSION, TLP_MARKING_IDS } from '../stix/index.js';
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

  describe('organisation sharing', () => {
    const ALPHA = 'identity--0a1b2c3d-4e5f-5a6b-8c7d-9e0f1a2b3c4d';
    const GAMMA = 'identity--2c3d4e5f-6a7b-5c8d-8e9f-1a2b3c4d5e6f';
    const organization = (standard_id: string) => ({ id: `internal-${standard_id}`, standard_id, name: 'Org' });
    /** A message's STIX form claiming `claimed` everywhere pycti looks for it. */
    const claiming = (claimed: string[]) => ({
      type: 'ipv4-addr',
      id: ID,
      value: '8.8.8.8',
      x_opencti_granted_refs: claimed,
      extensions: {
        [OPENCTI_SDO_EXTENSION]: { extension_type: 'property-extension', granted_refs: claimed, id: 'internal-1' },
        [OPENCTI_SCO_EXTENSION]: { extension_type: 'property-extension', granted_refs: claimed, score: 50 },
      },
    });

    it("is the read's objectOrganization, whatever the message's STIX form claims, where the platform keeps it", () => {
      const entity = toEnrichmentEntity(
        { ...READ, objectOrganization: [organization(ALPHA), organization(ALPHA)] },
        claiming([ALPHA, GAMMA]),
      );
      expect(grantedOrganizations(entity.stix)).toEqual([ALPHA]);
      expect(entity.stix).not.toHaveProperty('x_opencti_granted_refs');
      // The rest of the extensions is the platform's, kept.
      expect(entity.stix.extensions).toEqual({
        [OPENCTI_SDO_EXTENSION]: { extension_type: 'property-extension', id: 'internal-1', granted_refs: [ALPHA] },
        [OPENCTI_SCO_EXTENSION]: { extension_type: 'property-extension', score: 50 },
      });
    });

    it('is none when the read has none (or no answer for it), the message claiming some', () => {
      for (const read of [READ, { ...READ, objectOrganization: null }, { ...READ, objectOrganization: [{ id: 1 }] }]) {
        const entity = toEnrichmentEntity(read, claiming([GAMMA]));
        expect(grantedOrganizations(entity.stix)).toEqual([]);
        expect(JSON.stringify(entity.stix)).not.toContain(GAMMA);
      }
    });

    it("is the read's in the STIX form built from the read", () => {
      const entity = toEnrichmentEntity({ ...READ, objectOrganization: [organization(ALPHA)] });
      expect(entity.stix).toMatchObject({
        id: ID,
        extensions: { [OPENCTI_SDO_EXTENSION]: { extension_type: 'property-extension', granted_refs: [ALPHA] } },
      });
      expect(toEnrichmentEntity(READ).stix).not.toHaveProperty('extensions');
    });

    it("is the bundle's in a playbook step, as pycti takes it (an earlier step may have shared the entity)", () => {
      const stix = claiming([ALPHA, GAMMA]);
      const entity = toEnrichmentEntity(READ, stix, { playbook: true, objects: [stix] });
      expect(grantedOrganizations(entity.stix)).toEqual([ALPHA, GAMMA]);
    });
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
