/**
 * What OpenCTI ends up holding after each connector's case, entity by entity: every object the worker
 * imported is read the way pycti's importer reads it (the testkit's knowledge store), merged onto what the
 * platform already held. Pinned per connector, in its conformance case (`endState`), against what the
 * upstream Python connector leaves:
 *
 * - CrowdSec: the enriched IP gains the scenario/behaviour labels and the "CrowdSec CTI" reference and keeps
 *   its author (upstream adds the labels through the API, the reference in the bundle); everything created
 *   carries the CrowdSec author and the IP's markings (upstream too; ours also marks the vulnerability
 *   relationship upstream sends unmarked).
 * - Team Cymru Scout: the IP is re-sent from the vendor's bundle with Team Cymru as author, no label and no
 *   marking added (upstream's pass-through).
 * - URLScan: the domain gains the "urlscan" label and the scan's reference; the note carries the URLScan
 *   author and the domain's markings (upstream's note points at a random author id and is TLP:WHITE).
 * - SpyCloud, TeamT5: every object carries the connector's author and TLP, observables included (TeamT5's
 *   observables keep their author, which upstream's import loses).
 *
 * And for every connector: whatever it wrote about an object — in a top-level field, an OpenCTI
 * extension or an `x_opencti_*` field — is what the platform holds; nothing is shadowed by the importer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AddedValues,
  type KnowledgeRecord,
  OCTI_EXTENSION,
  OCTI_SCO_EXTENSION,
  startTestPlatform,
  type TestPlatform,
  TLP_MARKING_IDS,
} from '../../src/index.js';
import { CASES, type ConnectorCase } from './cases.js';
import { LISTEN_PROTOCOLS, type ListenProtocol, runTracker, startCaseDaemon, startCaseVendor } from './harness.js';

type Json = Record<string, unknown>;

const GREEN = TLP_MARKING_IDS['TLP:GREEN'];
const EARLIER = { source_name: 'earlier', url: 'https://earlier.example/enrichment' };

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.close();
});

/** Everything a connector wrote about an object, wherever it wrote it. */
function writtenAnywhere(object: Json): { labels: string[]; urls: string[]; author: string | null } {
  const extensions = (object.extensions ?? {}) as Record<string, Json | undefined>;
  const places = [object, extensions[OCTI_EXTENSION] ?? {}, extensions[OCTI_SCO_EXTENSION] ?? {}];
  const lists = (key: string) => places.flatMap((p) => (Array.isArray(p[key]) ? (p[key] as unknown[]) : []));
  const labels = [...lists('labels'), ...(Array.isArray(object.x_opencti_labels) ? object.x_opencti_labels : [])];
  const refs = [
    ...lists('external_references'),
    ...(Array.isArray(object.x_opencti_external_references) ? object.x_opencti_external_references : []),
  ] as Json[];
  const authors = [object.created_by_ref, object.x_opencti_created_by_ref, ...places.map((p) => p.created_by_ref)];
  return {
    labels: [...new Set(labels.filter((l): l is string => typeof l === 'string'))],
    urls: [...new Set(refs.map((r) => r.url).filter((u): u is string => typeof u === 'string'))],
    author: (authors.find((a) => typeof a === 'string') as string | undefined) ?? null,
  };
}

/** Nothing written about an object is lost on the way in. */
function expectNothingShadowed(sent: readonly Json[]): void {
  for (const object of sent) {
    const held = platform.knowledge(String(object.id)) as KnowledgeRecord;
    const written = writtenAnywhere(object);
    expect(held.labels, `labels of ${String(object.id)}`).toEqual(expect.arrayContaining(written.labels));
    expect(
      held.externalReferences.map((r) => r.url),
      `references of ${String(object.id)}`,
    ).toEqual(expect.arrayContaining(written.urls));
    if (written.author !== null) expect(held.createdBy, `author of ${String(object.id)}`).toBe(written.author);
  }
}

const isMeta = (o: Json) => o.type === 'marking-definition';

/** `held` is what was there before plus exactly the values added, or includes some of them. */
function expectAdded(held: readonly string[], before: readonly string[], added: AddedValues | undefined, what: string) {
  if (added === undefined) return;
  if (Array.isArray(added)) expect(held, what).toEqual([...before, ...added]);
  else expect(held, what).toEqual(expect.arrayContaining([...before, ...(added as { including: string[] }).including]));
}

async function enrich(
  c: ConnectorCase,
  protocol: ListenProtocol,
): Promise<{ entityId: string; sent: Json[]; again: Json[] }> {
  const vendor = await startCaseVendor(c);
  // CrowdSec skips an IP it enriched moments ago (the date it writes in the description): not here.
  const { d } = startCaseDaemon(c, platform, vendor, { CROWDSEC_MIN_DELAY_BETWEEN_ENRICHMENTS: '0' }, protocol);
  try {
    await d.waitForLog('listening for enrichment requests');
    const entity = platform.addEntity({
      ...(c.observable as { entity_type: string; value: string }),
      markings: ['TLP:GREEN'],
      labels: ['pre-existing'],
      externalReferences: [EARLIER],
    });
    const first = await platform.waitForWork(await platform.askEnrichment(d.connectorId, entity.standard_id));
    const sent = platform.objects({ workId: first.id }).map((o) => o.object);
    // Enriched again: the message now carries the platform's copy as the first enrichment left it.
    const second = await platform.waitForWork(await platform.askEnrichment(d.connectorId, entity.standard_id));
    const again = platform.objects({ workId: second.id }).map((o) => o.object);
    return { entityId: entity.standard_id, sent, again };
  } finally {
    await d.stop();
    await vendor.close();
  }
}

async function importOnce(c: ConnectorCase): Promise<Json[]> {
  const vendor = await startCaseVendor(c);
  const { d } = startCaseDaemon(c, platform, vendor);
  try {
    const run = await runTracker(platform, d)();
    // Processed is not complete: wait until the worker has imported every object of the run.
    const works = await Promise.all(run.works.map((w) => platform.waitForWork(w.id)));
    return works.flatMap((w) => platform.objects({ workId: w.id }).map((o) => o.object));
  } finally {
    await d.stop();
    await vendor.close();
  }
}

const enrichers = CASES.filter((c) => c.kind === 'enrichment');
const importers = CASES.filter((c) => c.kind === 'import');

// Each listen protocol on a platform of its own: the second run must not find the first one's knowledge.
describe.each(LISTEN_PROTOCOLS)('listen protocol %s', (protocol) => {
  let outer: TestPlatform;
  beforeAll(async () => {
    outer = platform;
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform?.close();
    platform = outer;
  });

  describe.each(enrichers)('$slug: the enriched observable and what the enrichment created', (c) => {
    let result: Awaited<ReturnType<typeof enrich>>;
    const { author, observable, createdMarkings } = c.endState;

    beforeAll(async () => {
      result = await enrich(c, protocol);
    }, 120_000);

    it('holds what it held before, plus what the connector added', () => {
      const held = platform.knowledge(result.entityId) as KnowledgeRecord;
      expect(held.labels[0]).toBe('pre-existing');
      expect(held.externalReferences[0]).toEqual(EARLIER);
      expect(held.markings).toEqual([GREEN]);
      // None scores the observable, as upstream does not.
      expect(held.score).toBeNull();
      expectAdded(held.labels, ['pre-existing'], observable?.labels, 'labels');
      const urls = held.externalReferences.map((r) => r.url ?? '');
      expectAdded(urls, [EARLIER.url], observable?.references, 'references');
      expect(held.createdBy).toBe(observable?.createdBy === 'author' ? author : null);
      if (observable?.description) expect(held.description).toMatch(observable.description);
    });

    it('gives everything it created the connector’s author, and the observable’s markings where upstream does', () => {
      const created = result.sent.filter((o) => !isMeta(o) && o.id !== result.entityId && o.id !== author);
      expect(created.length).toBeGreaterThan(0);
      for (const object of created) {
        const held = platform.knowledge(String(object.id)) as KnowledgeRecord;
        expect(held.createdBy, String(object.id)).toBe(author);
        // Scout passes the vendor's objects through with no marking of its own, as upstream does.
        expect(held.markings, String(object.id)).toEqual(createdMarkings === 'none' ? [] : [GREEN]);
      }
      expect(platform.knowledge(author)?.createdBy).toBeNull();
    });

    it('loses nothing it wrote, and a second enrichment over the updated copy loses nothing either', () => {
      expectNothingShadowed(result.sent);
      expectNothingShadowed(result.again);
      const held = platform.knowledge(result.entityId) as KnowledgeRecord;
      const first = writtenAnywhere(result.sent.find((o) => o.id === result.entityId) ?? {});
      expect(held.labels).toEqual(expect.arrayContaining(['pre-existing', ...first.labels]));
      expect(held.imports).toBe(2);
    });
  });
});

describe.each(importers)('$slug: every imported object', (c) => {
  let sent: Json[];
  const { author, marking: tlp } = c.endState;

  beforeAll(async () => {
    sent = await importOnce(c);
  }, 120_000);

  it('carries the connector’s author and TLP, observables included', () => {
    const objects = sent.filter((o) => !isMeta(o) && o.id !== author);
    expect(objects.some((o) => typeof o.x_opencti_created_by_ref === 'string')).toBe(true);
    for (const object of objects) {
      const held = platform.knowledge(String(object.id)) as KnowledgeRecord;
      expect(held.createdBy, String(object.id)).toBe(author);
      expect(held.markings, String(object.id)).toContain(tlp);
    }
  });

  it('loses nothing it wrote', () => {
    expectNothingShadowed(sent);
  });
});
