/**
 * connectors/<slug>/.env.example: the file a newcomer copies to .env for `pnpm dev`. It has every
 * variable of the connector's env contract (set, or commented out when deprecated), secrets as ChangeMe,
 * mentions only settings the connector reads (commented ones included), and the connector's configuration
 * accepts it as it is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fieldMeta, loadConfig, readEnvironment, shapeOf } from '@cti/connector-sdk/internal';
import { describe, expect, it } from 'vitest';
import { connectorSlugs, type LoadedConnector, loadConnector, settingsByEnvName } from '../../scripts/folder.js';
import { REPO_ROOT } from '../../scripts/paths.js';

const SECRET_NAME = /TOKEN|KEY|SECRET|PASS/;

async function load(slug: string): Promise<LoadedConnector> {
  const loaded = await loadConnector(slug);
  if ('missing' in loaded) throw new Error(loaded.missing);
  return loaded;
}

describe.each(connectorSlugs())('connectors/%s/.env.example', (slug) => {
  const path = join(REPO_ROOT, 'connectors', slug, '.env.example');
  const lines = () => readFileSync(path, 'utf8').split('\n');
  const set = () =>
    lines()
      .map((l) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ name: m[1] ?? '', value: m[2] ?? '' }));
  const commented = () =>
    lines()
      .map((l) => /^#\s*([A-Z][A-Z0-9_]*)=/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);

  it('exists and has every variable of the env contract, set once or shown commented out (a deprecated one)', async () => {
    expect(existsSync(path)).toBe(true);
    const names = set().map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    const documented = (await load(slug)).envContract?.settings.map((s) => s.name) ?? [];
    expect([...names, ...commented()]).toEqual(expect.arrayContaining(documented));
  });

  it('mentions only settings the connector reads, has ChangeMe secrets, and is accepted as it is', async () => {
    const shape = shapeOf((await load(slug)).definition);
    const known = settingsByEnvName(shape);
    for (const name of [...set().map((s) => s.name), ...commented()]) {
      expect(known.has(name), `${slug} does not read ${name}`).toBe(true);
    }
    for (const { name, value } of set()) {
      const key = known.get(name) as string;
      const schema = shape[key];
      const secret = (schema ? fieldMeta(schema).secret === true : false) || SECRET_NAME.test(name);
      if (!secret) continue;
      const optional = schema ? schema.safeParse(undefined).success : false;
      expect(value === 'ChangeMe' || (optional && value === ''), `${name}=${value}`).toBe(true);
    }
    const env = readEnvironment({ env: {}, dotenvPath: path });
    expect(() => loadConfig(shape, { env, dotenvPath: false })).not.toThrow();
  });
});
