/**
 * docker/docker-compose.yml and docker/docker-compose.attach.yml: one service per connector, with exactly
 * the environment variables of the connector's original README (../shared/seeds), its example values,
 * secrets as ChangeMe, every name understood by the connector, and a file docker-compose accepts.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigShape, envNames, fieldMeta, loadConfig, shapeOf } from '@cti/connector-sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectorSlugs, imageName, type LoadedConnector, loadConnector } from '../../scripts/catalog.js';
import { type ComposeFile, composeConfig, findComposeTool, parseCompose, readCompose } from '../../scripts/compose.js';
import { REPO_ROOT, SEED_SETTINGS_FILE, SEEDS_DIR } from '../../scripts/paths.js';
import {
  isConcreteExample,
  NOT_SETTINGS,
  parseSeedSettings,
  readSeedSettings,
  SEED_FILES,
  type SeedSetting,
} from '../../scripts/seeds.js';

const MAIN = join(REPO_ROOT, 'docker', 'docker-compose.yml');
const ATTACH = join(REPO_ROOT, 'docker', 'docker-compose.attach.yml');
const committedSeeds = JSON.parse(readFileSync(SEED_SETTINGS_FILE, 'utf8')) as Record<string, SeedSetting[]>;
const seedsPresent = existsSync(SEEDS_DIR);
const slugs = connectorSlugs();
const SECRET_NAME = /TOKEN|KEY|SECRET|PASS/;

let main: ComposeFile;
let attach: ComposeFile;
const connectors = new Map<string, LoadedConnector>();
const missing = new Map<string, string>();

beforeAll(async () => {
  main = readCompose(MAIN);
  attach = readCompose(ATTACH);
  for (const slug of slugs) {
    const result = await loadConnector(slug);
    if ('missing' in result) missing.set(slug, result.missing);
    else connectors.set(slug, result);
  }
});

function seedsOf(slug: string): SeedSetting[] {
  const seeds = committedSeeds[slug];
  if (!seeds) throw new Error(`docker/test/seed-settings.json has no entry for ${slug}: run pnpm metadata`);
  return seeds;
}

function definitionOf(slug: string): LoadedConnector {
  const c = connectors.get(slug);
  if (!c) throw new Error(`connector ${slug} is not available: ${missing.get(slug) ?? 'unknown'}`);
  return c;
}

/** env name (documented or alias) → the setting it feeds. */
function settingsByEnvName(shape: ConfigShape): Map<string, string> {
  const map = new Map<string, string>();
  for (const [key, schema] of Object.entries(shape)) for (const name of envNames(key, schema)) map.set(name, key);
  return map;
}

describe('the seed READMEs', () => {
  it.skipIf(!seedsPresent)(
    seedsPresent
      ? 'docker/test/seed-settings.json is what the seed READMEs document'
      : `docker/test/seed-settings.json is what the seed READMEs document (NOT CHECKED: ${SEEDS_DIR} not found; the committed extract is used)`,
    () => {
      expect(readSeedSettings(SEEDS_DIR)).toEqual(committedSeeds);
    },
  );

  it.skipIf(!seedsPresent)('every name left out as "not a setting" is still in its README', () => {
    for (const [slug, names] of Object.entries(NOT_SETTINGS)) {
      const file = Object.entries(SEED_FILES).find(([, s]) => s === slug)?.[0];
      expect(file, slug).toBeDefined();
      const all = parseSeedSettings(readFileSync(join(SEEDS_DIR, file as string), 'utf8')).map((s) => s.name);
      for (const name of Object.keys(names)) expect(all, `${slug}: ${name}`).toContain(name);
    }
  });

  it('there is one README per connector folder', () => {
    expect(Object.values(SEED_FILES).sort()).toEqual(slugs);
    expect(Object.keys(committedSeeds).sort()).toEqual(slugs);
  });
});

describe('docker-compose.yml', () => {
  it('has one service per connector, named connector-<slug>', () => {
    expect(Object.keys(main.services).sort()).toEqual(slugs.map((s) => `connector-${s}`).sort());
  });

  describe.each(slugs)('connector-%s', (slug) => {
    const service = () => {
      const s = main.services[`connector-${slug}`];
      if (!s) throw new Error(`no service connector-${slug}`);
      return s;
    };

    it("sets exactly the environment variables of the connector's README", () => {
      const names = [...service().environment.keys()].sort();
      expect(names).toEqual(
        seedsOf(slug)
          .map((s) => s.name)
          .sort(),
      );
    });

    it("uses the README's example values, and ChangeMe for every secret", () => {
      const env = service().environment;
      const shape = connectors.has(slug) ? shapeOf(definitionOf(slug).definition) : null;
      const byName = shape ? settingsByEnvName(shape) : new Map<string, string>();
      for (const seed of seedsOf(slug)) {
        const value = env.get(seed.name);
        const key = byName.get(seed.name);
        const schema = key && shape ? shape[key] : undefined;
        const secret = (schema ? fieldMeta(schema).secret === true : false) || SECRET_NAME.test(seed.name);
        if (secret) {
          // An optional secret may be left empty (TeamT5's deprecated static key next to OAuth).
          const optional = schema ? schema.safeParse(undefined).success : false;
          expect(value === 'ChangeMe' || (optional && value === ''), `${seed.name}=${value}`).toBe(true);
        } else if (isConcreteExample(seed.example)) {
          expect(value, seed.name).toBe(seed.example);
        }
      }
    });

    it('builds and runs the cti/connector-<slug> image, restarting always', () => {
      const s = service();
      expect(s.image).toMatch(new RegExp(`^${imageName(slug)}:`));
      expect(s.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile', args: { CONNECTOR: slug } });
      expect(s.restart).toBe('always');
      expect(s.init).toBe(true);
    });

    it('sets only names the connector reads, and values its configuration accepts', () => {
      const { definition } = definitionOf(slug);
      const shape = shapeOf(definition);
      const known = settingsByEnvName(shape);
      const env = Object.fromEntries(service().environment);
      for (const name of Object.keys(env)) expect(known.has(name), `${slug} does not read ${name}`).toBe(true);
      expect(() => loadConfig(shape, { env, dotenvPath: false })).not.toThrow();
    });
  });
});

describe('docker-compose.attach.yml', () => {
  it("joins every service to the OpenCTI stack's external network", () => {
    expect(Object.keys(attach.services).sort()).toEqual(Object.keys(main.services).sort());
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own interpolation, kept for docker compose
    expect(attach.networks.opencti).toEqual({ external: true, name: '${OPENCTI_NETWORK:-docker_default}' });
    for (const [name, service] of Object.entries(attach.services)) expect(service.networks, name).toEqual(['opencti']);
  });

  it.each(slugs)('connector-%s: sets only the OpenCTI URL, under the README name, to the stack service', (slug) => {
    const service = attach.services[`connector-${slug}`];
    const seedNames = seedsOf(slug).map((s) => s.name);
    const urlName = seedNames.find((n) => n === 'OPENCTI_URL' || n === 'OPENCTI_API_URL');
    expect(urlName, `${slug}'s README names no OpenCTI URL`).toBeDefined();
    expect(Object.fromEntries(service?.environment ?? [])).toEqual({ [urlName as string]: 'http://opencti:8080' });
  });
});

describe('docker-compose config', () => {
  const tool = findComposeTool();
  const title = (what: string) =>
    tool
      ? `${tool.name} config accepts ${what}`
      : `${what}: CANNOT VALIDATE, neither docker-compose nor the docker compose plugin is installed (apt-get install -y docker-compose)`;
  // Without an engine, compose still interpolates, validates against its schema and merges the files.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };

  it.skipIf(!tool)(title('docker-compose.yml, and reads it as this test does'), () => {
    if (!tool) return;
    const result = composeConfig(tool, [MAIN], env);
    expect(result.stderr, result.stderr).not.toMatch(/error|invalid/i);
    expect(result.status, result.stderr).toBe(0);
    const normalised = parseCompose(result.stdout, `${tool.name} config`);
    for (const [name, service] of Object.entries(main.services)) {
      expect(Object.fromEntries(normalised.services[name]?.environment ?? []), name).toEqual(
        Object.fromEntries(service.environment),
      );
    }
  });

  it.skipIf(!tool)(title('docker-compose.yml with docker-compose.attach.yml'), () => {
    if (!tool) return;
    const result = composeConfig(tool, [MAIN, ATTACH], env);
    expect(result.status, result.stderr).toBe(0);
    const normalised = parseCompose(result.stdout, `${tool.name} config`);
    for (const [name, service] of Object.entries(main.services)) {
      const expected = { ...Object.fromEntries(service.environment) };
      for (const [k, v] of attach.services[name]?.environment ?? []) expected[k] = v;
      expect(Object.fromEntries(normalised.services[name]?.environment ?? []), name).toEqual(expected);
      expect(normalised.services[name]?.networks, name).toEqual(['opencti']);
    }
  });

  it.skipIf(!tool)(
    tool ? `${tool.name} config rejects a file with an unknown service key` : title('a broken file'),
    () => {
      if (!tool) return;
      // Proves the validation above can fail: the same tool, a deliberately wrong file.
      const bad = join(mkdtempSync(join(tmpdir(), 'cti-compose-')), 'docker-compose.yml');
      writeFileSync(bad, 'services:\n  x:\n    image: a\n    restart_policy_typo: always\n');
      const result = composeConfig(tool, [bad], env);
      expect(result.status).not.toBe(0);
    },
  );
});
