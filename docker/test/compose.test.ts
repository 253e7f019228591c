/**
 * docker/docker-compose.yml and docker/docker-compose.attach.yml: one service per connector folder. A port's
 * service sets exactly the environment variables of its original README (the folder's env-contract.json), its
 * example values, secrets as ChangeMe; every service sets only names the connector reads, values its
 * configuration accepts, and is a file docker-compose accepts. The files are generated (`pnpm metadata`), so
 * these checks hold against the contract and the connector itself, not against the generator.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fieldMeta, loadConfig, shapeOf } from '@cti/connector-sdk/internal';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ComposeFile, composeConfig, findComposeTool, parseCompose, readCompose } from '../../scripts/compose.js';
import { composeItem } from '../../scripts/compose-file.js';
import { connectorSlugs, type LoadedConnector, loadConnector, settingsByEnvName } from '../../scripts/folder.js';
import { REPO_ROOT } from '../../scripts/paths.js';
import { imageName } from '../../scripts/publishing.js';
import { isConcreteExample } from '../../scripts/readme-settings.js';

const MAIN = join(REPO_ROOT, 'docker', 'docker-compose.yml');
const ATTACH = join(REPO_ROOT, 'docker', 'docker-compose.attach.yml');
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

function definitionOf(slug: string): LoadedConnector {
  const c = connectors.get(slug);
  if (!c) throw new Error(`connector ${slug} is not available: ${missing.get(slug) ?? 'unknown'}`);
  return c;
}

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

    it("sets exactly the variables of the connector's env contract, or only its required settings", () => {
      const { definition, envContract } = definitionOf(slug);
      const names = [...service().environment.keys()].sort();
      if (envContract) {
        expect(names).toEqual(envContract.settings.map((s) => s.name).sort());
      } else {
        const shape = shapeOf(definition);
        const required = Object.keys(shape).filter((k) => !shape[k]?.safeParse(undefined).success);
        expect(names).toEqual(required.sort());
      }
    });

    it("uses the README's example values, and ChangeMe for every secret", () => {
      const env = service().environment;
      const { definition, envContract } = definitionOf(slug);
      const shape = shapeOf(definition);
      const byName = settingsByEnvName(shape);
      for (const [name, value] of env) {
        const key = byName.get(name);
        const schema = key ? shape[key] : undefined;
        if (schema && fieldMeta(schema).secret === true && !envContract) expect(value, name).toBe('ChangeMe');
      }
      for (const documented of envContract?.settings ?? []) {
        const value = env.get(documented.name);
        const key = byName.get(documented.name);
        const schema = key && shape ? shape[key] : undefined;
        const secret = (schema ? fieldMeta(schema).secret === true : false) || SECRET_NAME.test(documented.name);
        if (secret) {
          // An optional secret may be left empty (TeamT5's deprecated static key next to OAuth).
          const optional = schema ? schema.safeParse(undefined).success : false;
          expect(value === 'ChangeMe' || (optional && value === ''), `${documented.name}=${value}`).toBe(true);
        } else if (documented.value === undefined && isConcreteExample(documented.example)) {
          expect(value, documented.name).toBe(documented.example);
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
    const documented = definitionOf(slug).envContract?.settings.map((s) => s.name) ?? ['OPENCTI_URL'];
    const urlName = documented.find((n) => n === 'OPENCTI_URL' || n === 'OPENCTI_API_URL');
    expect(urlName, `${slug}'s env contract names no OpenCTI URL`).toBeDefined();
    expect(Object.fromEntries(service?.environment ?? [])).toEqual({ [urlName as string]: 'http://opencti:8080' });
  });
});

/** Values an admin or a README may hold: compose's `$`, YAML's `: ` and ` #`, quotes, backslashes, non-ASCII. */
const hostileValue = fc.stringMatching(/^[ -~\u00e9\u4e2d\u{1F600}]{0,40}$/u);
const HOSTILE_SAMPLES = [
  '$HOME',
  'a: b',
  'x #y',
  '"quoted"',
  "'single'",
  'back\\slash',
  ' lead',
  'trail ',
  'end:',
  '',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's interpolation syntax, as a literal value
  '${X:-y}',
  'é中😀',
];

function composeOf(values: readonly string[]): string {
  const items = values.map((v, i) => `      - ${composeItem(`V${i}`, v)}`);
  return ['services:', '  x:', '    image: a', '    environment:', ...items, ''].join('\n');
}

describe('a compose value, as the generator writes it', () => {
  it('reads back as the same text (with $ doubled, as compose un-doubles it)', () => {
    fc.assert(
      fc.property(fc.array(hostileValue, { minLength: 1, maxLength: 8 }), (values) => {
        const env = parseCompose(composeOf(values), 'generated').services.x?.environment;
        expect([...(env?.values() ?? [])]).toEqual(values.map((v) => v.replaceAll('$', '$$$$')));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a control character or a newline, naming the variable', () => {
    expect(() => composeItem('VENDOR_NAME', 'a\nb')).toThrow(/VENDOR_NAME: a compose value cannot hold control/);
    expect(() => composeItem('VENDOR_NAME', 'a\u0000')).toThrow(/VENDOR_NAME/);
  });
});

describe('docker-compose config', () => {
  const tool = findComposeTool();
  // CI installs docker-compose (.ci/run): there, a missing tool fails instead of skipping.
  const required = Boolean(process.env.CI);
  const skip = !tool && !required;
  const title = (what: string) =>
    tool
      ? `${tool.name} config accepts ${what}`
      : `${what}: CANNOT VALIDATE, neither docker-compose nor the docker compose plugin is installed (apt-get install -y docker-compose)`;
  const need = () => {
    if (!tool) throw new Error('docker-compose is required (apt-get install -y docker-compose)');
    return tool;
  };
  // Without an engine, compose still interpolates, validates against its schema and merges the files.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };

  it.skipIf(skip)(title('the values the generator writes, hostile ones included, as the same text'), () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cti-compose-')), 'docker-compose.yml');
    const values = [...HOSTILE_SAMPLES, ...fc.sample(hostileValue, { numRuns: 40, seed: 15 })];
    writeFileSync(file, composeOf(values));
    const result = composeConfig(need(), [file], env);
    expect(result.status, result.stderr).toBe(0);
    const read = parseCompose(result.stdout, 'docker-compose config').services.x?.environment;
    // `config` prints a compose file again, where a literal $ is written $$: what the container gets is `values`.
    expect(values.map((_, i) => read?.get(`V${i}`))).toEqual(values.map((v) => v.replaceAll('$', '$$$$')));
  });

  it.skipIf(skip)(title('docker-compose.yml, and reads it as this test does'), () => {
    const tool = need();
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

  it.skipIf(skip)(title('docker-compose.yml with docker-compose.attach.yml'), () => {
    const tool = need();
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

  it.skipIf(skip)(
    tool ? `${tool.name} config rejects a file with an unknown service key` : title('a broken file'),
    () => {
      const tool = need();
      // Proves the validation above can fail: the same tool, a deliberately wrong file.
      const bad = join(mkdtempSync(join(tmpdir(), 'cti-compose-')), 'docker-compose.yml');
      writeFileSync(bad, 'services:\n  x:\n    image: a\n    restart_policy_typo: always\n');
      const result = composeConfig(tool, [bad], env);
      expect(result.status).not.toBe(0);
    },
  );
});
