/**
 * How the cross-connector suites and the demo drive SpyCloud: a fake SpyCloud API serving the two recorded
 * pages of breach records and the breach catalogue (test/fixtures, provenance in their README), and its key.
 */
import { readFileSync } from 'node:fs';
import { defineConformance, type FakeRequest, TLP_MARKING_IDS } from '@cti/connector-testkit';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const header = (req: FakeRequest, name: string) => [req.headers[name]].flat().join(',');

const SPYCLOUD_KEY = 'SPYCLOUD-KEY+secret/suite=71d0c3';
const firstPage = fixture('breach-records.json') as { cursor: string };
const lastPage = fixture('breach-records-last-page.json');
const breachCatalog = fixture('breach-catalog.json');

export default defineConformance({
  vendor: 'SpyCloud',
  secrets: { SPYCLOUD_API_KEY: SPYCLOUD_KEY },
  env: (url) => ({
    SPYCLOUD_API_BASE_URL: `${url}/enterprise-v2/`,
    SPYCLOUD_API_KEY: SPYCLOUD_KEY,
    SPYCLOUD_TIMEOUT_SECONDS: '1',
  }),
  answer(req) {
    if (header(req, 'x-api-key') !== SPYCLOUD_KEY) return { status: 403, body: { message: 'Forbidden' } };
    if (req.path === '/enterprise-v2/breach/data/watchlist') {
      return { body: req.query.get('cursor') === firstPage.cursor ? lastPage : firstPage };
    }
    if (req.path.startsWith('/enterprise-v2/breach/catalog/')) return { body: breachCatalog };
    return undefined;
  },
  // SpyCloud (organization, its CONNECTOR_NAME), and SPYCLOUD_TLP_LEVEL's default on everything.
  endState: { author: 'identity--115e787b-4b83-59ef-b350-aeb7b1736c74', marking: TLP_MARKING_IDS['TLP:AMBER+STRICT'] },
  demo: {
    vendorName: 'SpyCloud API',
    env: () => ({ SPYCLOUD_IMPORT_START_DATE: '2024-01-01T00:00:00Z' }),
  },
});
