/**
 * For every enricher, on both listen protocols (the listen queue, and the platform POSTing to the callback the
 * connector registered), every max-TLP setting and every TLP level of the observable: the vendor receives a
 * request exactly when pycti's rule allows it. The fake vendor counts the requests that carry each
 * observable's value, so a refusal is proven by zero requests, not by a log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MarkingInput, startTestPlatform, type TestPlatform, type WorkSnapshot } from '../../src/index.js';
import { type ConnectorCase, ENRICHERS } from './cases.js';
import { generatedSection, normalise } from './generated-docs.js';
import { type CaseVendor, enrichOnce, LISTEN_PROTOCOLS, startCaseDaemon, startCaseVendor } from './harness.js';

/** pycti 6.8.10 `check_max_tlp` (reference/protocol-notes.md#tlp): max_tlp → the TLPs it allows. */
const PYCTI_ALLOWED: Record<string, readonly string[]> = {
  'TLP:RED': ['TLP:WHITE', 'TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT', 'TLP:RED'],
  'TLP:AMBER+STRICT': ['TLP:WHITE', 'TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT'],
  'TLP:AMBER': ['TLP:WHITE', 'TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER'],
  'TLP:GREEN': ['TLP:WHITE', 'TLP:CLEAR', 'TLP:GREEN'],
  'TLP:WHITE': ['TLP:WHITE', 'TLP:CLEAR'],
  'TLP:CLEAR': ['TLP:WHITE', 'TLP:CLEAR'],
};
/** pycti connectors start from TLP:CLEAR when the entity has no TLP marking. */
const pyctiAllows = (max: string, tlp: string | null) => (PYCTI_ALLOWED[max] ?? []).includes(tlp ?? 'TLP:CLEAR');

/** The max-TLP settings, written as admins write them (both forms, any case). */
const MAX_SETTINGS = [
  { setting: 'TLP:CLEAR', level: 'TLP:CLEAR' },
  { setting: 'white', level: 'TLP:WHITE' },
  { setting: 'TLP:GREEN', level: 'TLP:GREEN' },
  { setting: 'amber', level: 'TLP:AMBER' },
  { setting: 'TLP:AMBER+STRICT', level: 'TLP:AMBER+STRICT' },
  { setting: 'tlp:red', level: 'TLP:RED' },
] as const;
const ENTITY_LEVELS = [null, 'TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT', 'TLP:RED'] as const;
/** Cells (values) one listen protocol's run may use, edge cases included (100 to 104). */
const CELLS_PER_PROTOCOL = 150;

const matrix = generatedSection('tlp');
const edges = generatedSection('tlp-edge');
const matrixRows = new Map<string, string[]>();
const edgeRows = new Map<string, string[]>();
let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.close();
});

/** A value of the connector's observable type, distinct per cell: no two cells share a request. */
function valueFor(c: ConnectorCase, cell: number): { entity_type: string; value: string } {
  const type = c.observable?.entity_type ?? 'IPv4-Addr';
  if (type === 'Domain-Name') return { entity_type: type, value: `tlpcell${cell}.example.org` };
  return { entity_type: type, value: `198.51.100.${cell + 1}` };
}

/** Requests that carry `value`, in the path or the query. */
const requestsFor = (vendor: CaseVendor, value: string) =>
  vendor.requests.filter((r) => decodeURIComponent(r.url).includes(value)).length;

const outcome = (w: WorkSnapshot) => {
  const error = w.errors[0]?.message;
  return error === undefined ? 'done' : `error: ${normalise(error)}`;
};

describe('TLP: the vendor is asked exactly when pycti allows it', () => {
  for (const protocol of LISTEN_PROTOCOLS)
    for (const [ci, c] of ENRICHERS.entries()) {
      it.concurrent(`${c.slug}: every max-TLP setting × every TLP level, listen protocol ${protocol}`, async () => {
        const vendor = await startCaseVendor(c);
        try {
          // Each protocol enriches values of its own: no two cells share an entity on the one platform.
          let cell = protocol === 'API' ? CELLS_PER_PROTOCOL : 0;
          for (const [mi, max] of MAX_SETTINGS.entries()) {
            const daemon = startCaseDaemon(c, platform, vendor, { [c.maxTlpVariable ?? '']: max.setting }, protocol);
            try {
              await daemon.d.waitForLog('listening for enrichment requests', 60_000);
              const cells: string[] = [];
              for (const level of ENTITY_LEVELS) {
                const observable = valueFor(c, cell++);
                const before = vendor.requests.length;
                const work = await enrichOnce(platform, daemon.d.connectorId, observable, level ? [level] : []);
                const requests = requestsFor(vendor, observable.value);
                const allowed = pyctiAllows(max.level, level);
                const where = `${c.slug}, max ${max.setting}, entity ${level ?? 'unmarked'}`;
                expect(requests, `${where}: vendor requests`).toBe(allowed ? 1 : 0);
                // A refusal sends nothing at all, not even a request that does not carry the value.
                if (!allowed) expect(vendor.requests.length - before, `${where}: any vendor request`).toBe(0);
                if (allowed) expect(work.errors, `${where}: no error`).toEqual([]);
                else expect(work.errors[0]?.message, `${where}: the refusal names the TLP`).toMatch(/TLP/);
                cells.push(allowed ? `${requests} request` : `${requests} (refused)`);
              }
              expect(daemon.exitCode(), `${c.slug}, max ${max.setting}: the daemon is still running`).toBeNull();
              matrixRows.set(`${protocol}-${ci}-${mi}`, [c.slug, `${c.maxTlpVariable}=${max.setting}`, ...cells]);
            } finally {
              expect(await daemon.d.stop()).toBe(0);
            }
          }

          // Several markings, unknown TLP markings, PAP: max TLP:AMBER.
          const daemon = startCaseDaemon(c, platform, vendor, { [c.maxTlpVariable ?? '']: 'TLP:AMBER' }, protocol);
          try {
            await daemon.d.waitForLog('listening for enrichment requests', 60_000);
            const edgeCases: Array<{ label: string; markings: Array<string | MarkingInput>; pycti: boolean }> = [
              { label: 'TLP:RED, then TLP:GREEN', markings: ['TLP:RED', 'TLP:GREEN'], pycti: true },
              { label: 'TLP:GREEN, then TLP:RED', markings: ['TLP:GREEN', 'TLP:RED'], pycti: false },
              {
                label: 'TLP:EX:CHEMICALS (a TLP marking the platform admin created)',
                markings: [{ definition_type: 'TLP', definition: 'TLP:EX:CHEMICALS' }],
                pycti: false,
              },
              {
                label: 'PAP:RED only',
                markings: [{ definition_type: 'PAP', definition: 'PAP:RED' }],
                pycti: true,
              },
              {
                label: 'TLP:GREEN and PAP:RED',
                markings: ['TLP:GREEN', { definition_type: 'PAP', definition: 'PAP:RED' }],
                pycti: true,
              },
            ];
            for (const [ei, edge] of edgeCases.entries()) {
              const observable = valueFor(c, (protocol === 'API' ? CELLS_PER_PROTOCOL : 0) + 100 + ei);
              const before = vendor.requests.length;
              const entity = platform.addEntity({ ...observable, markings: edge.markings });
              const workId = await platform.askEnrichment(daemon.d.connectorId, entity.standard_id);
              const work = await platform.waitFor(
                () => {
                  const w = platform.work(workId);
                  return w?.operations.some((o) => o.op === 'toProcessed') ? w : undefined;
                },
                { timeoutMs: 60_000 },
              );
              const requests = requestsFor(vendor, observable.value);
              // The SDK never sends more than pycti would, and refuses what is above the max under any order.
              const sdkAllows = !edge.markings.some(
                (m) =>
                  m === 'TLP:RED' ||
                  (typeof m === 'object' && m.definition_type === 'TLP' && m.definition === 'TLP:EX:CHEMICALS'),
              );
              expect(requests, `${c.slug}, ${edge.label}`).toBe(sdkAllows ? 1 : 0);
              if (sdkAllows) expect(work.errors, `${c.slug}, ${edge.label}: no error`).toEqual([]);
              else {
                expect(work.errors[0]?.message).toMatch(/TLP/);
                expect(vendor.requests.length - before, `${c.slug}, ${edge.label}: any vendor request`).toBe(0);
              }
              // Never more than pycti would send.
              if (!edge.pycti) expect(requests, `${c.slug}, ${edge.label}: pycti refuses it`).toBe(0);
              // A marking the SDK does not know is named, not passed off as the entity being TLP:RED.
              if (edge.label.startsWith('TLP:EX:CHEMICALS'))
                expect(work.errors[0]?.message).toContain('TLP:EX:CHEMICALS');
              edgeRows.set(`${protocol}-${ci}-${ei}`, [
                c.slug,
                edge.label,
                edge.pycti ? 'sent' : 'refused',
                String(requests),
                outcome(work),
              ]);
            }
          } finally {
            expect(await daemon.d.stop()).toBe(0);
          }
        } finally {
          await vendor.close();
        }
      }, 600_000);
    }

  it('docs/security.md shows what this suite observed, the same on both listen protocols', ({ task }) => {
    for (const ci of ENRICHERS.keys()) {
      for (const mi of MAX_SETTINGS.keys()) {
        const row = matrixRows.get(`AMQP-${ci}-${mi}`);
        if (row) matrix.record(...row);
        expect(matrixRows.get(`API-${ci}-${mi}`), `the HTTP listen protocol, ${ci}-${mi}`).toEqual(row);
      }
    }
    for (const ci of ENRICHERS.keys()) {
      for (let ei = 0; ei < 5; ei++) {
        const row = edgeRows.get(`AMQP-${ci}-${ei}`);
        if (row) edges.record(...row);
        expect(edgeRows.get(`API-${ci}-${ei}`), `the HTTP listen protocol, edge ${ci}-${ei}`).toEqual(row);
      }
    }
    matrix.verify(task);
    edges.verify(task);
  });
});
