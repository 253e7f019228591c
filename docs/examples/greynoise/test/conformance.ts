import { readFileSync } from 'node:fs';
import { identityId } from '@cti/connector-sdk';
import { defineConformance } from '@cti/connector-testkit';

const KEY = 'GREYNOISE-KEY+secret/suite=9a4c';
const seen = JSON.parse(readFileSync(new URL('./fixtures/community-203.0.113.66.json', import.meta.url), 'utf8'));

/** How the cross-connector suites and the demo drive GreyNoise: a fake Community API and its key. */
export default defineConformance({
  vendor: 'GreyNoise',
  secrets: { GREYNOISE_API_KEY: KEY },
  env: (url) => ({ GREYNOISE_API_KEY: KEY, GREYNOISE_API_URL: url }),
  answer(req) {
    if (req.headers.key !== KEY) return { status: 401, body: { message: 'unauthorized' } };
    const ip = /^\/v3\/community\/(.+)$/.exec(req.path)?.[1];
    if (ip === undefined) return undefined;
    return ip === seen.ip ? { body: seen } : { status: 404, body: { ip, noise: false, riot: false } };
  },
  maxTlpVariable: 'GREYNOISE_MAX_TLP',
  observable: { entity_type: 'IPv4-Addr', value: '203.0.113.66' },
  nextObservable: { entity_type: 'IPv4-Addr', value: '203.0.113.67' },
  // What OpenCTI then holds: the labels and the link added, everything created authored by GreyNoise.
  endState: {
    author: identityId('GreyNoise', 'organization'),
    observable: {
      labels: ['greynoise', 'malicious'],
      references: [`https://viz.greynoise.io/ip/${seen.ip}`],
      createdBy: null,
    },
  },
});
