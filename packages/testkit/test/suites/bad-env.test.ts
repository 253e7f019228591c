/**
 * Bad settings, for every connector: every setting that can be wrong is given a wrong value (the first of
 * a list of candidates its own schema rejects), with every other setting valid and every secret set to a
 * recognisable value. The connector must stop with exit 1 before any network call, name the variable on
 * stderr, and echo no secret. Settings whose combination is wrong (checked in the connector's setup) and
 * missing secrets are tried too; one bad value per connector is run as a real process for its exit code.
 * Every wrong value is tried from config.yml too, where the error names the variable and its key.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseConfig, fieldMeta, runConnector, shapeOf, yamlKeys } from '@cti/connector-sdk/internal';
import { describe, expect, it } from 'vitest';
import { spawnConnector } from '../sdk/faults/spawn.js';
import { CASES, type ConnectorCase } from './cases.js';
import { generatedSection } from './generated-docs.js';
import { configYml, expectNoSecrets } from './harness.js';

const doc = generatedSection('bad-env');
const rows = new Map<string, string[][]>();

const OPENCTI_TOKEN = 'OPENCTI-TOKEN+bad-env/suite=6d2c81';
/** Nothing listens here: a configuration that wrongly passes would fail to start, not hang the suite. */
const NOWHERE = 'http://127.0.0.1:9';

/** Wrong values, tried in this order against each setting's own schema. */
const CANDIDATES = [
  'not-a-valid-value',
  'twelve',
  '-999999999',
  '99999999999',
  'perhaps',
  'ftp://example.org',
  '1.5',
  'P',
  '1:2;3',
];

/** A valid environment for the case: platform, id, secrets, its vendor settings. */
function validEnv(c: ConnectorCase): Record<string, string> {
  return {
    OPENCTI_URL: NOWHERE,
    OPENCTI_TOKEN,
    CONNECTOR_ID: randomUUID(),
    ...(c.kind === 'import' ? { CONNECTOR_DURATION_PERIOD: 'PT1H' } : {}),
    ...c.env(NOWHERE),
  };
}

interface Attempt {
  code: number;
  stdout: string;
  stderr: string;
  logs: string;
}

/**
 * Runs the daemon command in this process, with `configFile` as its config.yml (none by default); a
 * configuration that passes is stopped after 10 s.
 */
async function attempt(c: ConnectorCase, env: Record<string, string>, configFile?: string): Promise<Attempt> {
  const out: string[] = [];
  const err: string[] = [];
  const logs: string[] = [];
  const safety = new AbortController();
  const timer = setTimeout(() => safety.abort(), 10_000);
  try {
    const code = await runConnector(c.definition, {
      argv: [],
      env,
      dotenvPath: false,
      configFile: configFile ?? false,
      handleSignals: false,
      signal: safety.signal,
      stdout: (t) => void out.push(t),
      stderr: (t) => void err.push(t),
      logDestination: { write: (l: string) => void logs.push(l) },
    });
    return { code, stdout: out.join(''), stderr: err.join(''), logs: logs.join('') };
  } finally {
    clearTimeout(timer);
  }
}

function secretsOf(c: ConnectorCase): Record<string, string> {
  return { OPENCTI_TOKEN, ...c.secrets };
}

function expectRejected(c: ConnectorCase, variable: string, result: Attempt) {
  const all = result.stdout + result.stderr + result.logs;
  expect(result.code, `${c.slug} ${variable}: exit code`).toBe(1);
  expect(result.stderr, `${c.slug} ${variable}: named on stderr`).toContain(`${variable}:`);
  expectNoSecrets({ output: all }, secretsOf(c), `${c.slug} ${variable}: secrets echoed`);
}

/** The stderr line about `variable`, without the connector's name prefix. */
const lineAbout = (stderr: string, variable: string) =>
  stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.includes(`${variable}:`)) ?? '';

describe('bad settings', () => {
  for (const [ci, c] of CASES.entries()) {
    it(`${c.slug}: every setting with a wrong value, missing secrets, wrong combinations`, async () => {
      const shape = shapeOf(c.definition);
      const connectorRows: string[][] = [];
      const baseRejected: string[] = [];
      const acceptsAnything: string[] = [];
      for (const [variable, schema] of Object.entries(shape)) {
        const bad = CANDIDATES.find((v) => !schema.safeParse(v).success);
        if (bad === undefined) {
          acceptsAnything.push(variable);
          continue;
        }
        const result = await attempt(c, { ...validEnv(c), [variable]: bad });
        expectRejected(c, variable, result);
        const isBase = variable in baseConfig && !(variable in c.definition.config);
        if (isBase) baseRejected.push(variable);
        else
          connectorRows.push([c.slug, variable, `\`${bad}\``, String(result.code), lineAbout(result.stderr, variable)]);
      }
      // Secrets accept any text: the error is their absence (optional ones are checked in combinations).
      for (const [variable, schema] of Object.entries(shape)) {
        if (!fieldMeta(schema).secret || schema.safeParse(undefined).success) continue;
        const env = validEnv(c);
        delete env[variable];
        const result = await attempt(c, env);
        expectRejected(c, variable, result);
        if (variable in baseConfig && !(variable in c.definition.config)) baseRejected.push(`${variable} (unset)`);
        else connectorRows.push([c.slug, variable, '(unset)', String(result.code), lineAbout(result.stderr, variable)]);
      }
      for (const extra of c.invalidCombinations ?? []) {
        const env = { ...validEnv(c), ...extra.set };
        for (const v of extra.unset ?? []) delete env[v];
        const result = await attempt(c, env);
        expectRejected(c, extra.variable, result);
        connectorRows.push([
          c.slug,
          extra.variable,
          extra.label,
          String(result.code),
          lineAbout(result.stderr, extra.variable),
        ]);
      }
      expect(baseRejected.length).toBeGreaterThan(10);
      // A setting that starts accepting any text fails here instead of moving silently to the table's last row.
      const freeText = [...BASE_FREE_TEXT, ...(c.freeTextSettings ?? [])];
      const secret = (v: string) => {
        const schema = shape[v];
        return schema !== undefined && fieldMeta(schema).secret === true;
      };
      const unexpected = acceptsAnything.filter((v) => !freeText.includes(v) && !secret(v));
      expect(unexpected, `${c.slug}: settings that accept any text`).toEqual([]);
      connectorRows.push([
        c.slug,
        `the ${baseRejected.length} base settings that can be wrong`,
        'each its first rejected candidate',
        '1',
        `each named: ${baseRejected.join(', ')}`,
      ]);
      connectorRows.push([c.slug, acceptsAnything.join(', '), 'none: any text is accepted', '-', '-']);
      rows.set(String(ci), connectorRows);
    }, 120_000);
  }

  it('every setting with a wrong value in config.yml: exit 1 naming the variable, its key, the file and the line', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cti-bad-config-yml-'));
    let tried = 0;
    for (const c of CASES) {
      for (const [variable, schema] of Object.entries(shapeOf(c.definition))) {
        const bad = CANDIDATES.find((v) => !schema.safeParse(v).success);
        const key = yamlKeys(variable, schema)[0];
        if (bad === undefined || key === undefined) continue;
        const file = join(folder, `${c.slug}-${variable}.yml`);
        // Everything in the file, the environment empty: the bad value is the file's alone.
        writeFileSync(file, configYml(c, { ...validEnv(c), [variable]: bad }));
        const result = await attempt(c, {}, file);
        expect(result.code, `${c.slug} ${variable}: exit code`).toBe(1);
        expect(result.stderr, `${c.slug} ${variable}: named with its key`).toMatch(
          new RegExp(`- ${variable} \\(${key.replace('.', '\\.')} in ${file}, line \\d+\\): `),
        );
        expectNoSecrets({ output: result.stdout + result.stderr + result.logs }, secretsOf(c), `${c.slug} ${variable}`);
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(100);
  }, 120_000);

  it('the real process exits 1 and names the variable', async () => {
    for (const c of CASES) {
      const variable = c.maxTlpVariable ?? 'CONNECTOR_DURATION_PERIOD';
      const p = spawnConnector(c.main, { ...validEnv(c), [variable]: 'purple' });
      const { code } = await p.exited;
      expect(code, `${c.slug} exit code`).toBe(1);
      const stderr = p.stderr.join('');
      expect(stderr).toContain(`${variable}:`);
      expectNoSecrets({ output: p.output.join('') }, secretsOf(c), `${c.slug}: secrets echoed`);
    }
  }, 120_000);

  it('docs/reliability.md lists what this suite observed', ({ task }) => {
    for (const ci of CASES.keys()) for (const row of rows.get(String(ci)) ?? []) doc.record(...row);
    doc.verify(task);
  });
});

/**
 * The base settings, besides secrets, of which any text is a valid value: tokens, paths, hosts, a connector
 * id that need not be a UUID, the scope. A connector's own are in its conformance case (freeTextSettings),
 * with the combinations of settings it refuses (invalidCombinations).
 */
const BASE_FREE_TEXT = [
  'OPENCTI_TOKEN',
  'OPENCTI_SSL_VERIFY',
  'CONNECTOR_ID',
  'CONNECTOR_SCOPE',
  'CONNECTOR_RATE_LIMIT_REDIS_URL',
  // Any path; whether it is a writable directory is checked at start-up when CONNECTOR_SEND_TO_DIRECTORY is true.
  'CONNECTOR_SEND_TO_DIRECTORY_PATH',
  'MQ_HOST',
  'MQ_VHOST',
  'MQ_USER',
  'MQ_PASS',
  'MQ_USE_SSL_CA',
  'MQ_USE_SSL_CERT',
  'MQ_USE_SSL_KEY',
  'MQ_USE_SSL_PASSPHRASE',
  // PEM text or a file path: read, and checked with the key, when CONNECTOR_LISTEN_PROTOCOL_API_SSL is on.
  'LISTEN_PROTOCOL_API_SSL_CERT',
];
