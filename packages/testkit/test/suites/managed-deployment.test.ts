/**
 * Every connector deployed from the catalog as OpenCTI and XTM Composer deploy it (reference/catalog/README.md):
 *
 * - its config schema's `required` is what the connector truly requires: exactly those settings (and the
 *   CONNECTOR_ID the platform assigns) load, and each one left out is an error naming it;
 * - an admin fills the deployment form of its contract in manifest.json with the vendor's settings; the
 *   platform stores that configuration with every other field's default, and the container gets it with the
 *   platform's settings as its whole environment (no file, no .env). The process, spawned as the image runs
 *   it, registers under the id and name the platform gave it, does its work (one enrichment, or one import
 *   run) against the stand-in platform and the case's fake vendor, and stops on SIGTERM with exit code 0
 *   well before Docker's SIGKILL (10 s after `docker stop`, Composer's stop).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, shapeOf } from '@cti/connector-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsByEnvName } from '../../../../scripts/folder.js';
import { REPO_ROOT } from '../../../../scripts/paths.js';
import {
  type CatalogContract,
  deploymentForm,
  loadCatalog,
  managedConnector,
  startTestPlatform,
  type TestPlatform,
} from '../../src/index.js';
import { type SpawnedConnector, spawnConnector } from '../sdk/faults/spawn.js';
import { CASES, type ConnectorCase } from './cases.js';
import { enrichOnce, runTracker, startCaseVendor } from './harness.js';

/** How long Docker waits after SIGTERM before SIGKILL when `docker stop` is given no timeout. */
const DOCKER_STOP_TIMEOUT_MS = 10_000;

const catalog = loadCatalog(readFileSync(join(REPO_ROOT, 'manifest.json'), 'utf8'));

function contractOf(
  c: ConnectorCase,
): CatalogContract & { config_schema: NonNullable<CatalogContract['config_schema']> } {
  const contract = catalog.contracts.find((x) => x.slug === c.slug);
  if (!contract?.config_schema) throw new Error(`manifest.json has no contract for ${c.slug}: run pnpm metadata`);
  return contract as never;
}

/** What an admin types in the deployment form: the case's vendor settings, under the form's names. */
function typedSettings(
  c: ConnectorCase,
  vendorUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const keyOf = settingsByEnvName(shapeOf(c.definition));
  const form = deploymentForm(contractOf(c));
  const typed: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...c.env(vendorUrl), ...extra })) {
    const key = keyOf.get(name) ?? name;
    if (!form.includes(key)) throw new Error(`${c.slug}: the case sets ${name}, which is not in the deployment form`);
    typed[key] = value;
  }
  return typed;
}

describe.each(CASES)('$slug: the config schema requires what the connector requires', (c) => {
  const required = () => contractOf(c).config_schema.required;
  /** A value for each setting, from the case and the platform: nothing more than the schema requires is set. */
  const pool = (): Record<string, string> => ({
    OPENCTI_URL: 'http://opencti.invalid:8080',
    OPENCTI_TOKEN: 'platform-token',
    ...(c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT1H' } : {}),
    ...typedSettings(c, 'http://vendor.invalid'),
  });
  const onlyRequired = () => {
    const values = pool();
    const env: Record<string, string> = { CONNECTOR_ID: '9181c0fc-b2b1-4014-af17-589ee8569f5a' };
    for (const name of required()) {
      const value = values[name];
      if (value === undefined) throw new Error(`${c.slug}: neither the case nor the platform gives required ${name}`);
      env[name] = value;
    }
    return env;
  };

  it(`${c.slug}: exactly the required settings, and the id the platform assigns, load`, () => {
    expect(() => loadConfig(shapeOf(c.definition), { env: onlyRequired(), dotenvPath: false })).not.toThrow();
  });

  it(`${c.slug}: each required setting left out is an error naming it`, () => {
    expect(required().length).toBeGreaterThan(0);
    for (const name of required()) {
      const { [name]: _left, ...env } = onlyRequired();
      let error: unknown;
      try {
        loadConfig(shapeOf(c.definition), { env, dotenvPath: false });
      } catch (err) {
        error = err;
      }
      expect(error, `${c.slug} loads without ${name}`).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues.map((i) => i.variable)).toContain(name);
    }
  });
});

describe('deployed from manifest.json, with only the environment the connector manager gives', () => {
  let platform: TestPlatform;
  const processes: SpawnedConnector[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform();
  }, 60_000);
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await platform?.close();
  }, 60_000);

  it.each(CASES)(
    '$slug: registers as the platform named it, works, and stops on SIGTERM with exit code 0',
    async (c) => {
      const vendor = await startCaseVendor(c);
      try {
        const contract = contractOf(c);
        // The admin's choices: the vendor's settings, an import's period (SpyCloud has no default) and, to
        // follow the runs, debug logs.
        const choices = {
          CONNECTOR_LOG_LEVEL: 'debug',
          ...(c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT1H' } : {}),
        };
        const deployed = managedConnector(contract, typedSettings(c, vendor.url, choices), {
          url: platform.url,
          token: platform.token,
          name: `${contract.title} (managed)`,
        });
        expect(deployed.image).toBe(`${contract.container_image}:${contract.container_version}`);
        const connectorId = deployed.env.CONNECTOR_ID as string;
        const proc = spawnConnector(c.main, deployed.env);
        processes.push(proc);

        const registered = await platform.waitFor(() => platform.connector(connectorId), {
          timeoutMs: 60_000,
          message: `${c.slug} to register`,
        });
        expect(registered).toMatchObject({
          name: `${contract.title} (managed)`,
          connector_type: contract.container_type,
        });

        if (c.kind === 'enrichment') {
          const work = await enrichOnce(platform, connectorId, c.observable ?? { entity_type: '', value: '' });
          expect(work.errors, c.slug).toEqual([]);
        } else {
          const logs = {
            connectorId,
            get logs() {
              return proc.stdout.join('').split('\n');
            },
          };
          const run = await runTracker(platform, logs)(120_000);
          expect(run.level, run.message).not.toBe('error');
        }
        expect(proc.child.exitCode).toBeNull();

        const sentAt = Date.now();
        proc.child.kill('SIGTERM');
        const { code } = await proc.exited;
        expect(code).toBe(0);
        // An idle connector stops in well under a second; Docker would kill it at 10 s.
        expect(Date.now() - sentAt).toBeLessThan(DOCKER_STOP_TIMEOUT_MS / 2);
      } finally {
        await vendor.close();
      }
    },
    180_000,
  );
});
