/**
 * Organisation sharing (OpenCTI Enterprise): an entity shared with organisations is enriched, through the
 * listen queue (or the HTTP listen callback) and as a playbook step, by each enricher. Every object the enrichment sends back must be
 * shared with the same organisations, as pycti does, or the notes, indicators and sightings it creates are
 * invisible to the organisations that can see the entity. Read the way the platform's importer reads it.
 */
import { OpenCtiClient } from '@cti/connector-sdk/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAsPycti, startTestPlatform, type TestPlatform } from '../../src/index.js';
import { ENRICHERS } from './cases.js';
import { type CaseDaemon, type CaseVendor, LISTEN_PROTOCOLS, startCaseDaemon, startCaseVendor } from './harness.js';

type Json = Record<string, unknown>;

/** One platform per listen protocol, so that the two runs share no entity. */
let platform: TestPlatform;

const organizationsOf = (object: Json) => readAsPycti(object, false).organizations;

describe.each(LISTEN_PROTOCOLS)('listen protocol %s', (protocol) => {
  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform?.close();
  });

  describe.each(ENRICHERS)('$slug', (c) => {
    let vendor: CaseVendor;
    let daemon: CaseDaemon;
    let alpha: string;
    let beta: string;
    let gamma: string;

    beforeAll(async () => {
      vendor = await startCaseVendor(c);
      daemon = startCaseDaemon(c, platform, vendor, { CROWDSEC_MIN_DELAY_BETWEEN_ENRICHMENTS: '0' }, protocol);
      await daemon.d.waitForLog('listening for enrichment requests');
      alpha = platform.addEntity({ entity_type: 'Organization', name: `${c.slug} Alpha` }).standard_id;
      beta = platform.addEntity({ entity_type: 'Organization', name: `${c.slug} Beta` }).standard_id;
      gamma = platform.addEntity({ entity_type: 'Organization', name: `${c.slug} Gamma` }).standard_id;
    });
    afterAll(async () => {
      await daemon?.d.stop();
      await vendor?.close();
    });

    const shared = () =>
      platform.addEntity({
        ...(c.observable as { entity_type: string; value: string }),
        markings: ['TLP:GREEN'],
        grantedOrganizations: [alpha, beta].map((id) => platform.entity(id) ?? id),
      });

    it('shares every object an enrichment sends with the entity’s two organisations', async () => {
      const entity = shared();
      const work = await platform.waitForWork(await platform.askEnrichment(daemon.d.connectorId, entity.standard_id));
      const objects = platform.objects({ workId: work.id }).map((o) => o.object);
      expect(objects.length).toBeGreaterThan(1);
      for (const object of objects) {
        expect(organizationsOf(object), String(object.id)).toEqual(expect.arrayContaining([alpha, beta]));
        expect(platform.knowledge(String(object.id))?.organizations, String(object.id)).toEqual(
          expect.arrayContaining([alpha, beta]),
        );
      }
    });

    it('shares every object of a playbook step’s answer with them too', async () => {
      const entity = shared();
      const request = await platform.askPlaybook(daemon.d.connectorId, entity.standard_id);
      const step = await platform.waitFor(
        () => platform.playbookSteps().find((s) => s.variables.execution_id === request.executionId),
        { timeoutMs: 30_000, message: 'the playbook step answer' },
      );
      const objects = (step.bundle?.objects ?? []) as Json[];
      expect(objects.length).toBeGreaterThan(1);
      for (const object of objects) {
        expect(organizationsOf(object), String(object.id)).toEqual(expect.arrayContaining([alpha, beta]));
      }
    });

    it('shares nothing with an organisation only a listen message claims (anyone with the broker credentials can publish one)', async () => {
      const entity = shared();
      const workId = await new OpenCtiClient({
        url: platform.url,
        token: platform.token,
        userAgent: 'organisation-sharing-test',
      }).workAdd(daemon.d.connectorId, 'Manual enrichment');
      const claimed = { ...entity.stix_entity, x_opencti_granted_refs: [alpha, beta, gamma] };
      await platform.publishListenRaw(
        daemon.d.connectorId,
        JSON.stringify({
          internal: { work_id: workId, applicant_id: null, draft_id: null, mode: 'manual', trigger: 'update' },
          event: {
            event_type: 'INTERNAL_ENRICHMENT',
            entity_id: entity.standard_id,
            entity_type: entity.entity_type,
            stix_entity: JSON.stringify(claimed),
          },
        }),
      );
      const work = await platform.waitForWork(workId);
      expect(work.errors).toEqual([]);
      const objects = platform.objects({ workId }).map((o) => o.object);
      expect(objects.length).toBeGreaterThan(1);
      for (const object of objects) {
        expect(organizationsOf(object), String(object.id)).toEqual(expect.arrayContaining([alpha, beta]));
        expect(organizationsOf(object), String(object.id)).not.toContain(gamma);
        expect(platform.knowledge(String(object.id))?.organizations, String(object.id)).not.toContain(gamma);
      }
    });

    it('adds no sharing to an entity shared with nobody', async () => {
      const entity = platform.addEntity({ ...(c.nextObservable ?? c.observable), markings: ['TLP:GREEN'] } as never);
      const work = await platform.waitForWork(await platform.askEnrichment(daemon.d.connectorId, entity.standard_id));
      for (const { object } of platform.objects({ workId: work.id })) {
        expect(object).not.toHaveProperty('x_opencti_granted_refs');
        expect(organizationsOf(object)).toEqual([]);
      }
    });
  });
});
