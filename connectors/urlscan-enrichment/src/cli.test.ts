import { runCli } from '@cti/connector-testkit';
import { describe, expect, it } from 'vitest';
import { rewriteLegacyArgs, testValueType } from './cli.js';
import urlscan from './index.js';

const env = { URLSCAN_API_KEY: 'k', CONNECTOR_LOG_LEVEL: 'info', ONLY_ACTIVE_URLS: 'false' };
const rewrite = (...argv: string[]) => rewriteLegacyArgs(argv, env);

describe("the seed's testing-mode flags", () => {
  it('-t <domain> is a dry-run enrichment of a Domain-Name', () => {
    const { argv, env: out } = rewrite('-t', 'example.com');
    expect(argv).toEqual(['enrich', 'example.com', '--type', 'Domain-Name']);
    expect(out).toEqual(env);
  });

  it('-t <url> is a Url; an explicit --type wins', () => {
    expect(rewrite('--test', 'https://example.com/login').argv).toEqual([
      'enrich',
      'https://example.com/login',
      '--type',
      'Url',
    ]);
    expect(rewrite('--test=example.com', '--type', 'Url').argv).toEqual(['enrich', 'example.com', '--type', 'Url']);
    expect(testValueType('HTTP://X.example')).toBe('Url');
  });

  it('-d and -a set debug logs and ONLY_ACTIVE_URLS over the environment, with or without -t', () => {
    expect(rewrite('-d', '-a')).toEqual({
      argv: [],
      env: { ...env, CONNECTOR_LOG_LEVEL: 'debug', ONLY_ACTIVE_URLS: 'true' },
    });
    expect(rewrite('--debug', '-t', 'example.com', '--active-only')).toEqual({
      argv: ['enrich', 'example.com', '--type', 'Domain-Name'],
      env: { ...env, CONNECTOR_LOG_LEVEL: 'debug', ONLY_ACTIVE_URLS: 'true' },
    });
  });

  it('combines short flags as argparse does', () => {
    expect(rewrite('-da')).toMatchObject({ env: { CONNECTOR_LOG_LEVEL: 'debug', ONLY_ACTIVE_URLS: 'true' } });
    expect(rewrite('-dat', 'example.com')).toMatchObject({
      argv: ['enrich', 'example.com', '--type', 'Domain-Name'],
      env: { CONNECTOR_LOG_LEVEL: 'debug', ONLY_ACTIVE_URLS: 'true' },
    });
    expect(rewrite('-texample.com').argv).toEqual(['enrich', 'example.com', '--type', 'Domain-Name']);
  });

  it('leaves the SDK command line alone', () => {
    for (const argv of [[], ['enrich', 'https://a.example/', '--type', 'Url', '--tlp', 'amber'], ['--help'], ['-h']]) {
      expect(rewrite(...argv)).toEqual({ argv, env });
    }
  });

  it('-t without a value becomes the SDK\'s "enrich needs a value" usage error', async () => {
    expect(rewrite('-t', '-d').argv).toEqual(['enrich']);
    const run = await runCli(urlscan, ['-t'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('enrich needs a value');
  });

  it('lists the flags in --help', async () => {
    const run = await runCli(urlscan, ['--help'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/-t, --test <domain or URL>[\s\S]*-d, --debug[\s\S]*-a, --active-only/);
    expect(run.stdout).toContain('OPENCTI_TOKEN (secret; also OPENCTI_API_KEY; config.yml opencti.token)');
  });
});
