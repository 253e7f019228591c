/**
 * How the cross-connector suites and the demo drive URLScan: a fake urlscan.io replaying the recorded
 * search and results (test/fixtures, provenance in their README), its key, and a domain to enrich.
 */
import { readFileSync } from 'node:fs';
import { defineConformance, type FakeRequest } from '@cti/connector-testkit';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const header = (req: FakeRequest, name: string) => [req.headers[name]].flat().join(',');

const URLSCAN_KEY = 'URLSCAN-KEY+secret/suite=3e7a90';
const search = fixture('search.json') as { results: Array<{ _id: string }> };
const result = fixture('result.json');
/** The reconstructed phishing scan the demo finds for its Url (result-malicious.json). */
const PHISHING_SCAN = '4f1d7a2c-8b3e-4c6a-9d2f-6a1b0c3e5f71';
const PHISHING_HOST = 'office365-login.example.net';
/** A 1×1 PNG: the phishing scan's screenshot in the demo, attached to the Url. */
const DEMO_SCREENSHOT = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

export default defineConformance({
  vendor: 'urlscan.io',
  secrets: { URLSCAN_API_KEY: URLSCAN_KEY },
  env: (url) => ({
    URLSCAN_API_URL: url,
    URLSCAN_API_KEY: URLSCAN_KEY,
    URLSCAN_TIMEOUT_SECONDS: '1',
    URLSCAN_MAX_WAIT_SECONDS: '2',
    URLSCAN_RATE_LIMIT_PER_HOUR: '10000',
  }),
  answer(req) {
    if (header(req, 'api-key') !== URLSCAN_KEY) return { status: 401, body: { message: 'Invalid API key' } };
    if (req.path === '/api/v1/search/' || req.path === '/api/v1/search') {
      // The recorded search is about ayyza.com; nothing is known of other values.
      return (req.query.get('q') ?? '').includes('ayyza')
        ? { body: search }
        : { body: { results: [], total: 0, has_more: false } };
    }
    if (req.path.startsWith('/api/v1/result/')) return { body: result };
    return undefined;
  },
  maxTlpVariable: 'URLSCAN_MAX_TLP',
  observable: { entity_type: 'Domain-Name', value: 'ayyza.com' },
  nextObservable: { entity_type: 'Domain-Name', value: 'next.example.org' },
  endState: {
    // URLScan.io (organization).
    author: 'identity--f8b09040-4d2b-5138-8c07-e7af17666f3f',
    observable: {
      // Ours, then the official connector's server label (result.json's lists.servers).
      labels: ['urlscan', 'urlscan: Apache'],
      references: ['https://urlscan.io/result/105d1aac-ccc0-4393-b421-da95bd4faafd/'],
      createdBy: null,
    },
  },
  invalidCombinations: [
    {
      label: '`URLSCAN_SUBMIT_SCAN=true` without `URLSCAN_API_KEY`',
      variable: 'URLSCAN_SUBMIT_SCAN',
      set: { URLSCAN_SUBMIT_SCAN: 'true' },
      unset: ['URLSCAN_API_KEY'],
    },
  ],
  demo: {
    vendorName: 'urlscan.io API',
    // The phishing URL finds the reconstructed malicious scan; every domain query the recorded search.
    answer(req) {
      const q = req.query.get('q') ?? '';
      if (req.path.startsWith('/api/v1/search')) {
        if (q.includes(PHISHING_HOST) || q.includes(PHISHING_HOST.replaceAll('-', '\\-'))) {
          const hit = { _id: PHISHING_SCAN, task: { time: '2025-03-04T09:12:45.123Z' }, page: { status: '200' } };
          return { body: { results: [hit], total: 1 } };
        }
        return { body: search };
      }
      if (req.path === `/screenshots/${PHISHING_SCAN}.png`) {
        return { body: DEMO_SCREENSHOT, headers: { 'content-type': 'image/png' } };
      }
      if (req.path.startsWith('/api/v1/result/')) {
        const uuid = req.path.split('/').filter(Boolean).pop() ?? '';
        if (uuid === PHISHING_SCAN) return { body: fixture('result-malicious.json') };
        return search.results.some((r) => r._id === uuid) ? undefined : { status: 404, body: { message: 'Not found' } };
      }
      return undefined;
    },
    samples: [
      { entity_type: 'Url', value: `https://${PHISHING_HOST}/common/oauth2/authorize`, markings: ['TLP:AMBER'] },
      { entity_type: 'Domain-Name', value: 'ayyza.com', markings: ['TLP:GREEN'] },
      // The address ayyza.com's page was served from: the recorded search stands for its ip: search.
      { entity_type: 'IPv4-Addr', value: '159.69.55.137', markings: ['TLP:GREEN'] },
    ],
  },
});
