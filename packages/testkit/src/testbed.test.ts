import { defineEnrichment } from '@cti/connector-sdk/internal';
import { describe, expect, it } from 'vitest';
import { connectorTestbed } from './testbed.js';

const noop = defineEnrichment({
  name: 'Noop',
  slug: 'noop',
  scope: ['IPv4-Addr'],
  config: {},
  maxTlp: () => 'TLP:RED',
  setup: () => null,
  enrich: async () => ({ bundle: null }),
});

describe('connectorTestbed', () => {
  it('says setup() was not called instead of failing on undefined', async () => {
    const bed = connectorTestbed({ definition: noop, routes: {}, env: () => ({}) });
    expect(() => bed.platform).toThrow("the testbed's platform is not started: call setup() first");
    expect(() => bed.vendor).toThrow("the testbed's vendor is not started: call setup() first");
    await expect(bed.start()).rejects.toThrow('call setup() first');
    expect(bed.daemon).toBeNull();
    await bed.close();
  });
});
