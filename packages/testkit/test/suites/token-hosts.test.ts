/**
 * Credentials go only to the host they belong to. Every connector's vendor answers with a redirect to
 * another host (another port of 127.0.0.1 is another origin), 302 and 307; TeamT5's token endpoint
 * redirects its form POST (the client secret is in the body); TeamT5 lists a stix_url on a foreign host.
 * The other host records everything it receives; no secret may be in it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeRequest,
  type FakeVendor,
  findSecrets,
  startFakeVendor,
  startTestPlatform,
  type TestPlatform,
  type WorkSnapshot,
} from '../../src/index.js';
import { CASES, type ConnectorCase, caseOf } from './cases.js';
import { generatedSection, normalise } from './generated-docs.js';
import { type CaseVendor, enrichOnce, runTracker, secretsOf, startCaseDaemon, startCaseVendor } from './harness.js';

const doc = generatedSection('token-hosts');
const rows = new Map<string, string[]>();
let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.close();
});

/** The names of the secrets that appear anywhere in what `host` received (URL, headers, body), in any encoding. */
function leaked(host: Pick<FakeVendor, 'requests'>, c: ConnectorCase, vendor: CaseVendor): string[] {
  const seen = JSON.stringify(host.requests.map((r) => ({ url: r.url, headers: r.headers, body: r.body })));
  return findSecrets({ 'the other host': seen }, secretsOf(c, vendor, platform.token)).map((s) => s.secret);
}

const outcome = (works: WorkSnapshot[]) => {
  const error = works.flatMap((w) => w.errors.map((e) => e.message))[0];
  return error === undefined ? 'done without error' : `error: ${normalise(error)}`;
};

/** Runs the connector once (an enrichment, or an import run) and returns the works it produced. */
async function runOnce(c: ConnectorCase, vendor: CaseVendor, extra: Record<string, string> = {}) {
  const daemon = startCaseDaemon(c, platform, vendor, extra);
  try {
    if (c.kind === 'enrichment') {
      await daemon.d.waitForLog('listening for enrichment requests', 60_000);
      return [await enrichOnce(platform, daemon.d.connectorId, c.observable ?? { entity_type: '', value: '' })];
    }
    return (await runTracker(platform, daemon.d)()).works;
  } finally {
    expect(await daemon.d.stop()).toBe(0);
  }
}

describe('credentials stay with their host', () => {
  for (const [ci, c] of CASES.entries()) {
    for (const [si, status] of [302, 307].entries()) {
      it(`${c.slug}: the vendor redirects with ${status} to another host`, async () => {
        const other = await startFakeVendor({
          'GET *': { status: 404, body: { message: 'the other host' } },
          'POST *': { status: 404, body: { message: 'the other host' } },
        });
        const vendor = await startCaseVendor(c);
        try {
          vendor.setFault((req: FakeRequest) => ({ status, headers: { location: `${other.url}${req.url}` } }));
          const works = await runOnce(c, vendor);
          // The vendor itself was asked with the credentials: the redirect is what must drop them.
          expect(vendor.faulted).toBeGreaterThan(0);
          expect(other.requests.length, 'the redirect was followed').toBeGreaterThan(0);
          expect(leaked(other, c, vendor), 'secrets the other host received').toEqual([]);
          // The other host answers 404: the connector reads it as "unknown" (CrowdSec) or reports it, naming
          // its vendor.
          const error = works.flatMap((w) => w.errors.map((e) => e.message))[0];
          if (error !== undefined) {
            expect(error).toContain(c.vendor);
            expect(error).toMatch(/404/);
          }
          rows.set(`${ci}-${si}`, [
            c.slug,
            `every API request answered ${status} to another host`,
            `none (${other.requests.length} request${other.requests.length === 1 ? '' : 's'} received)`,
            outcome(works),
          ]);
        } finally {
          await vendor.close();
          await other.close();
        }
      }, 120_000);
    }
  }

  const teamt5 = caseOf('teamt5');
  if (teamt5) {
    // A 307/308 keeps the method and body; an OAuth client-credentials POST carries the client secret in its
    // form body, so the SDK refuses to follow such a redirect to another host (credential headers alone
    // are not enough to drop).
    it('teamt5: the token endpoint redirects its form POST with 307 to another host', async () => {
      const other = await startFakeVendor({ 'POST *': { status: 404, body: { message: 'the other host' } } });
      const c: ConnectorCase = { ...teamt5, faultable: (req) => req.method === 'POST' && req.path === '/oauth/token' };
      const vendor = await startCaseVendor(c);
      try {
        vendor.setFault((req) => ({ status: 307, headers: { location: `${other.url}${req.url}` } }));
        const daemon = startCaseDaemon(c, platform, vendor);
        const code = await daemon.d.exited;
        const found = leaked(other, c, vendor);
        rows.set('teamt5-token', [
          'teamt5',
          'the OAuth token endpoint answers 307 to another host',
          found.length === 0
            ? `none (${other.requests.length} requests received)`
            : `BUG: the other host received the form POST with ${found.join(' and ')} in its body`,
          `the connector stopped at start-up (exit ${code}): no token`,
        ]);
        expect(found, 'secrets the other host received').toEqual([]);
        expect(other.requests, 'requests the other host received').toHaveLength(0);
        expect(code).toBe(1);
      } finally {
        await vendor.close();
        await other.close();
      }
    }, 120_000);

    it('teamt5: a stix_url on a foreign host is fetched without the token, or not at all with refuse', async () => {
      const reportStix = JSON.parse(readFileSync(join(teamt5.dir, 'test', 'fixtures', 'report-stix.json'), 'utf8'));
      const cdn = await startFakeVendor({ 'GET *': { body: reportStix } });
      for (const rule of ['fetch-without-token', 'refuse'] as const) {
        const base = await startCaseVendor(teamt5);
        // The listing names the STIX of its first report on the other host.
        const c: ConnectorCase = {
          ...teamt5,
          answer: (req, url, state) => {
            const reply = teamt5.answer(req, url, state);
            if (req.path !== '/api/v2/reports' || reply?.body === undefined) return reply;
            const body = reply.body as { reports: Array<Record<string, unknown>> };
            return {
              ...reply,
              body: {
                ...body,
                reports: body.reports.map((r) => ({ ...r, stix_url: `${cdn.url}/stix/${String(r.alias)}.stix` })),
              },
            };
          },
        };
        await base.close();
        const vendor = await startCaseVendor(c);
        const before = cdn.requests.length;
        try {
          const works = await runOnce(c, vendor, { TEAMT5_FOREIGN_STIX_URLS: rule });
          const received = cdn.requests.slice(before);
          expect(leaked({ requests: received }, c, vendor)).toEqual([]);
          expect(received.every((r) => r.headers.authorization === undefined)).toBe(true);
          const errors = works.flatMap((w) => w.errors.map((e) => e.message));
          if (rule === 'refuse') {
            expect(received).toHaveLength(0);
            expect(errors.join('\n')).toMatch(/TEAMT5_FOREIGN_STIX_URLS=refuse/);
          } else {
            expect(received.length).toBeGreaterThan(0);
            expect(errors).toEqual([]);
          }
          rows.set(`teamt5-stix-${rule}`, [
            'teamt5',
            `a report's stix_url on a foreign host, TEAMT5_FOREIGN_STIX_URLS=${rule}`,
            `none (${received.length} request${received.length === 1 ? '' : 's'} received, no Authorization header)`,
            outcome(works),
          ]);
        } finally {
          await vendor.close();
        }
      }
      await cdn.close();
    }, 120_000);
  }

  it('docs/security.md shows what this suite observed', ({ task }) => {
    for (const ci of CASES.keys())
      for (const si of [0, 1]) if (rows.has(`${ci}-${si}`)) doc.record(...(rows.get(`${ci}-${si}`) ?? []));
    for (const key of ['teamt5-token', 'teamt5-stix-fetch-without-token', 'teamt5-stix-refuse']) {
      const row = rows.get(key);
      if (row) doc.record(...row);
    }
    doc.verify(task);
  });
});
