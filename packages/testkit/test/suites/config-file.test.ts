/**
 * Every connector started from a config.yml alone, as an admin with a manual deployment of the Python connector
 * keeps one: the process is spawned with nothing but PATH in its environment, from an entry point in a folder
 * of its own, and finds the file as pycti's connectors do (next to the entry point's folder: the connector's
 * folder). Each key is the one upstream's connector reads (the case's settings, written under their config.yml
 * keys). The daemon registers, does its work against the stand-in platform and the case's fake vendor (one
 * enrichment, one import run), never prints a secret of the file in any encoding, and stops on SIGTERM. An
 * environment variable wins over its key, and a bad file stops the process with exit code 1 naming the file
 * and the key.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  ignoredFileKeys,
  loadConfig,
  parseConfigText,
  shapeOf,
  yamlKeys,
} from '@cti/connector-sdk/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../src/index.js';
import { type SpawnedConnector, spawnConnector } from '../sdk/faults/spawn.js';
import { CASES, type ConnectorCase, ENRICHERS } from './cases.js';
import {
  type CaseVendor,
  configYml,
  enrichOnce,
  expectNoSecrets,
  runTracker,
  secretsOf,
  startCaseVendor,
} from './harness.js';

const OPENCTI_TOKEN = `config-yml-token+/="${randomUUID().slice(0, 8)}`;
let platform: TestPlatform;
const processes: SpawnedConnector[] = [];
const root = mkdtempSync(join(tmpdir(), 'cti-config-yml-suite-'));

beforeAll(async () => {
  platform = await startTestPlatform({ token: OPENCTI_TOKEN });
}, 60_000);
afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await platform?.close();
}, 60_000);

/**
 * A deployment folder: `package.json`, `src/main.ts` (the connector's entry point, imported) and `config.yml`
 * beside `src`, as upstream's connectors keep theirs. Spawned with only PATH (and `env`) in the environment.
 */
function deploy(
  c: ConnectorCase,
  yml: string,
  env: Record<string, string> = {},
  args: string[] = [],
): SpawnedConnector {
  const folder = mkdtempSync(join(root, `${c.slug}-`));
  mkdirSync(join(folder, 'src'));
  // An ES module package, as the connector's folder (and /app in the image) is.
  writeFileSync(join(folder, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(folder, 'src', 'main.ts'), `import ${JSON.stringify(c.main)};\n`);
  writeFileSync(join(folder, 'config.yml'), yml);
  const p = spawnConnector(join(folder, 'src', 'main.ts'), env, args);
  processes.push(p);
  return p;
}

function settingsOf(c: ConnectorCase, vendor: CaseVendor, connectorId: string): Record<string, string> {
  return {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN,
    CONNECTOR_ID: connectorId,
    CONNECTOR_LOG_LEVEL: 'debug',
    ...(c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT1H' } : {}),
    ...c.env(vendor.url),
  };
}

const output = (p: SpawnedConnector) => ({ stdout: p.stdout.join(''), stderr: p.stderr.join('') });

describe('a connector started from config.yml alone', () => {
  for (const c of CASES) {
    it.concurrent(`${c.slug}: registers, works, prints no secret of the file, stops on SIGTERM`, async () => {
      const vendor = await startCaseVendor(c);
      try {
        const connectorId = randomUUID();
        const daemon = deploy(c, configYml(c, settingsOf(c, vendor, connectorId)));
        await daemon.waitForOutput('settings read from config.yml', 60_000);
        if (c.kind === 'enrichment') {
          await daemon.waitForOutput('listening for enrichment requests', 60_000);
          const observable = c.observable ?? { entity_type: 'IPv4-Addr', value: '192.0.2.1' };
          const processed = await enrichOnce(platform, connectorId, observable);
          expect(processed.errors).toEqual([]);
          // Once the worker has ingested what the connector sent.
          expect((await platform.waitForWork(processed.id)).status).toBe('complete');
        } else {
          const run = await runTracker(platform, {
            connectorId,
            get logs() {
              return daemon.stdout.join('').split('\n');
            },
          })(120_000);
          expect(run.message).toMatch(/^Imported \d/);
          expect(run.works.length).toBeGreaterThan(0);
        }
        expect(vendor.requests.length).toBeGreaterThan(0);
        expect(platform.connector(connectorId)).toBeDefined();
        daemon.child.kill('SIGTERM');
        expect((await daemon.exited).code).toBe(0);

        // A dry run from the same file, through a vendor refusing the credentials: an error path.
        vendor.setFault(() => ({ status: 401, body: { message: 'Unauthorized' } }));
        const dry = deploy(
          c,
          configYml(c, settingsOf(c, vendor, connectorId)),
          {},
          c.kind === 'enrichment' ? ['enrich', c.observable?.value ?? ''] : ['import', '--dry-run'],
        );
        expect((await dry.exited).code).toBe(1);
        vendor.setFault(null);

        expectNoSecrets(
          { daemon: Object.values(output(daemon)).join(''), 'dry run': Object.values(output(dry)).join('') },
          secretsOf(c, vendor, OPENCTI_TOKEN),
        );
      } finally {
        await vendor.close();
      }
    }, 240_000);
  }
});

describe('config.yml beneath the environment', () => {
  const c = ENRICHERS[0];
  if (c === undefined) throw new Error('no enrichment connector folder');

  it(`${c.slug}: a variable wins over its key (the file's vendor URL is closed, the environment's answers); pycti-only keys warn`, async () => {
    const vendor = await startCaseVendor(c);
    try {
      const connectorId = randomUUID();
      const settings = settingsOf(c, vendor, connectorId);
      const urlSetting = Object.keys(settings).find((k) => settings[k] === vendor.url && k !== 'OPENCTI_URL');
      if (urlSetting === undefined) throw new Error(`${c.slug}: the case sets no vendor URL`);
      // With a key of pycti's helper that no setting reads: a warning, not an error.
      const yml = configYml(c, { ...settings, [urlSetting]: 'http://127.0.0.1:9' }).replace(
        'connector:\n',
        'connector:\n  metrics_namespace: cti\n',
      );
      const daemon = deploy(c, yml, { [urlSetting]: vendor.url });
      await daemon.waitForOutput('listening for enrichment requests', 60_000);
      expect(daemon.stdout.join('')).toContain(
        'config.yml: connector.metrics_namespace is read by pycti, not by this connector: ignored',
      );
      const work = await enrichOnce(
        platform,
        connectorId,
        c.observable ?? { entity_type: 'IPv4-Addr', value: '192.0.2.1' },
      );
      expect(work.errors).toEqual([]);
      expect(vendor.requests.length).toBeGreaterThan(0);
      daemon.child.kill('SIGTERM');
      expect((await daemon.exited).code).toBe(0);
    } finally {
      await vendor.close();
    }
  }, 120_000);

  it(`${c.slug}: a bad file exits 1 before any request, naming the file, the key and the line`, async () => {
    const vendor = await startCaseVendor(c);
    try {
      const settings = settingsOf(c, vendor, randomUUID());
      const bad = deploy(c, configYml(c, settings, 'connector_typo:\n  id: x\n'));
      expect((await bad.exited).code).toBe(1);
      const { stderr } = output(bad);
      expect(stderr).toMatch(/connector_typo\.id \(.*config\.yml, line \d+\): is not a setting of this connector/);
      const garbage = deploy(c, `opencti:\n  url: "${platform.url}"\n  token: "${OPENCTI_TOKEN}\n`);
      expect((await garbage.exited).code).toBe(1);
      expect(output(garbage).stderr).toMatch(/config\.yml \(.*config\.yml, line \d+, column \d+\): is not valid YAML/);
      expect(vendor.requests).toEqual([]);
      expectNoSecrets({ bad: stderr, garbage: output(garbage).stderr }, secretsOf(c, vendor, OPENCTI_TOKEN));
    } finally {
      await vendor.close();
    }
  }, 120_000);
});

/** The folder's copy of the Python connector's config.yml.sample, when it ports one (test/fixtures/README.md). */
const upstreamSample = (c: ConnectorCase) => join(c.dir, 'test', 'fixtures', 'upstream-config.yml');
const PORTS = CASES.filter((c) => existsSync(upstreamSample(c)));

describe("the Python connector's own config.yml", () => {
  it.each(CASES)('$slug: no two settings read the same config.yml key', (c) => {
    const owners = new Map<string, string[]>();
    for (const [name, schema] of Object.entries(shapeOf(c.definition))) {
      for (const key of yamlKeys(name, schema)) owners.set(key, [...(owners.get(key) ?? []), name]);
    }
    expect([...owners].filter(([, names]) => names.length > 1)).toEqual([]);
  });

  it.each(PORTS)('$slug: every key of it is a setting of the port, or a pycti helper key it ignores', (c) => {
    const file = parseConfigText(readFileSync(upstreamSample(c), 'utf8'), upstreamSample(c));
    const shape = shapeOf(c.definition);
    const unknown: string[] = [];
    try {
      loadConfig(shape, { env: {}, dotenvPath: false, file });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // The samples hold placeholders (ChangeMe where a URL goes): only keys no setting reads matter here.
      unknown.push(...err.issues.filter((i) => /is not a setting/.test(i.message)).map((i) => i.variable));
    }
    expect(unknown).toEqual([]);
    const read = [...file.values.keys()].filter((k) => !ignoredFileKeys(shape, file).includes(k));
    expect(read.length).toBeGreaterThan(0);
  });
});
