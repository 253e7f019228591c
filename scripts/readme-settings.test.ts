import { describe, expect, it } from 'vitest';
import { draftEnvContract, isConcreteExample, parseReadmeSettings } from './readme-settings.js';

describe('parseReadmeSettings', () => {
  it('reads NAME=value from compose lists, .env blocks and bullet lists, comments and quotes removed', () => {
    const md = [
      '#### Recommended default',
      '  - OPENCTI_URL=http://opencti:8080',
      '  - CONNECTOR_SCOPE=IPv4-Addr # MIME type or Stix Object',
      '  - VENDOR_VERSION=v2 #v2 is the only one',
      '  - VENDOR_DESCRIPTION="Vendor CTI enrichment"',
      '```yaml',
      'services:',
      '  c:',
      '    environment:',
      '      - VENDOR_TOKEN=ChangeMe',
      '```',
      '```env',
      'OPENCTI_API_KEY=your-api-key',
      '```',
      '```mermaid',
      'A=B',
      '```',
      'Set `CONNECTOR_AUTO=true` in prose: not a setting line.',
    ].join('\n');
    expect(parseReadmeSettings(md)).toEqual([
      { name: 'OPENCTI_URL', example: 'http://opencti:8080' },
      { name: 'CONNECTOR_SCOPE', example: 'IPv4-Addr' },
      { name: 'VENDOR_VERSION', example: 'v2' },
      { name: 'VENDOR_DESCRIPTION', example: 'Vendor CTI enrichment' },
      { name: 'VENDOR_TOKEN', example: 'ChangeMe' },
      { name: 'OPENCTI_API_KEY', example: 'your-api-key' },
    ]);
  });

  it('reads the environment-variable column of tables, with the Default column as a suggestion', () => {
    const md = [
      '| Parameter | config.yml | Docker environment variable | Default | Mandatory |',
      '| --- | --- | --- | --- | --- |',
      '| Name | name | `CONNECTOR_NAME` | / | Yes |',
      '| Scope | scope | `CONNECTOR_SCOPE` | "spycloud" | Yes |',
      '| Key | key | `VENDOR_KEY` | | Yes |',
      '',
      '| Parameter | Docker envvar | Mandatory |',
      '|---|---|---|',
      '| `opencti_url` | `OPENCTI_URL` | Yes |',
      '',
      '| Environment Variable | Description | Default |',
      '|---|---|---|',
      '| `ONLY_ACTIVE_URLS` | Only active | `false` |',
      '| `OPENCTI_API_KEY` | Key | Required |',
    ].join('\n');
    expect(parseReadmeSettings(md)).toEqual([
      { name: 'CONNECTOR_NAME' },
      { name: 'CONNECTOR_SCOPE', tableDefault: 'spycloud' },
      { name: 'VENDOR_KEY' },
      { name: 'OPENCTI_URL' },
      { name: 'ONLY_ACTIVE_URLS', tableDefault: 'false' },
      { name: 'OPENCTI_API_KEY' },
    ]);
  });

  it('merges a name documented twice: the first example and the first default win', () => {
    const md = ['```env', 'A_B=1', 'A_B=2', '```', '| Docker envvar | Default |', '|-|-|', '| `A_B` | `3` |'].join(
      '\n',
    );
    expect(parseReadmeSettings(md)).toEqual([{ name: 'A_B', example: '1', tableDefault: '3' }]);
  });
});

describe('isConcreteExample', () => {
  it.each([
    ['http://opencti:8080', true],
    ['v2', true],
    ['<your OpenCTI API token>', false],
    ['<a valid UUIV_v4>', false],
    ['your-api-key', false],
    ['', false],
    [undefined, false],
  ])('%s → %s', (value, concrete) => {
    expect(isConcreteExample(value)).toBe(concrete);
  });
});

describe('draftEnvContract', () => {
  it("is a valid env-contract.json: the README's names and examples, with the source given", () => {
    const md = ['```env', 'OPENCTI_URL=http://opencti:8080', 'VENDOR_KEY=<your key>', '```'].join('\n');
    expect(draftEnvContract(md, 'example/repo README.md at abc1234 (2026-01-01)')).toEqual({
      source: 'example/repo README.md at abc1234 (2026-01-01)',
      settings: [
        { name: 'OPENCTI_URL', example: 'http://opencti:8080' },
        { name: 'VENDOR_KEY', example: '<your key>' },
      ],
    });
  });

  it('refuses a README that documents no variable, naming why', () => {
    expect(() => draftEnvContract('# Nothing here\n', 'x')).toThrow(/settings/);
  });
});
