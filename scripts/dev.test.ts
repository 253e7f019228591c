/**
 * `pnpm dev`: the connector from its sources, in its folder (so its .env is read), readable logs unless
 * the environment or the .env chose JSON.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeVendor } from '@cti/connector-testkit';
import { describe, expect, it } from 'vitest';
import { devPlan } from './dev-plan.js';
import { REPO_ROOT } from './paths.js';

/** A command's exit status and output; never throws on a non-zero exit. */
async function run(command: string, args: string[], options: { cwd: string; timeout: number; env: NodeJS.ProcessEnv }) {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { ...options, encoding: 'utf8' });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function fakeRoot(dotenv: string | null): string {
  const root = mkdtempSync(join(tmpdir(), 'cti-dev-'));
  mkdirSync(join(root, 'connectors', 'demo', 'src'), { recursive: true });
  if (dotenv !== null) writeFileSync(join(root, 'connectors', 'demo', '.env'), dotenv);
  return root;
}

describe('devPlan', () => {
  it('runs tsx in watch mode on src/main.ts from the connector folder, with the source condition', () => {
    const root = fakeRoot(null);
    const plan = devPlan('demo', ['enrich', '1.2.3.4'], { env: { PATH: '/bin' }, root });
    expect(plan.cwd).toBe(join(root, 'connectors', 'demo'));
    expect(plan.command).toBe(join(root, 'node_modules', '.bin', 'tsx'));
    expect(plan.args).toEqual([
      'watch',
      '--clear-screen=false',
      '--conditions=@cti/source',
      'src/main.ts',
      'enrich',
      '1.2.3.4',
    ]);
    expect(devPlan('demo', [], { env: {}, root, once: true }).args).toEqual([
      '--conditions=@cti/source',
      'src/main.ts',
    ]);
  });

  it('turns JSON logs off unless the environment or the .env file sets OPENCTI_JSON_LOGGING', () => {
    const without = fakeRoot('CROWDSEC_KEY=x\n');
    expect(devPlan('demo', [], { env: {}, root: without }).env.OPENCTI_JSON_LOGGING).toBe('false');
    expect(devPlan('demo', [], { env: { OPENCTI_JSON_LOGGING: 'true' }, root: without }).env.OPENCTI_JSON_LOGGING).toBe(
      'true',
    );
    const chosen = fakeRoot('OPENCTI_JSON_LOGGING=true\n');
    // The .env value is left for the SDK to read: the plan does not override it.
    expect(devPlan('demo', [], { env: {}, root: chosen }).env.OPENCTI_JSON_LOGGING).toBeUndefined();
  });

  it('says where the settings come from, and how to create the .env', () => {
    expect(devPlan('demo', [], { env: {}, root: fakeRoot(null) }).notes.join()).toMatch(
      /connectors\/demo\/\.env not found.*cp connectors\/demo\/\.env\.example connectors\/demo\/\.env/,
    );
    expect(devPlan('demo', [], { env: {}, root: fakeRoot('A=1\n') }).notes.join()).toMatch(
      /from the environment, then connectors\/demo\/\.env/,
    );
  });
});

describe('pnpm dev, for real (once, no watching)', () => {
  const userDotenv = existsSync(join(REPO_ROOT, 'connectors', 'crowdsec', '.env'));

  it.skipIf(userDotenv)(
    userDotenv
      ? 'runs crowdsec from source with readable logs (NOT RUN: connectors/crowdsec/.env exists and would change the result)'
      : 'runs crowdsec from source with readable logs: a dry-run enrichment against a fake CTI API',
    async () => {
      const cti = await startFakeVendor({
        'GET /v2/smoke/:ip': () => ({ status: 404, body: { message: 'IP address not found' } }),
      });
      try {
        // Asynchronous: the fake vendor answers from this very process.
        const result = await run(
          process.execPath,
          [
            join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
            '--conditions=@cti/source',
            'scripts/dev.ts',
            'crowdsec',
            '--once',
            '--',
            'enrich',
            '198.51.100.7',
          ],
          {
            cwd: REPO_ROOT,
            timeout: 120_000,
            env: { PATH: process.env.PATH, CROWDSEC_KEY: 'dev-test-key', CROWDSEC_API_URL: cti.url },
          },
        );
        expect(result.status, result.stderr).toBe(0);
        // The dry run prints no bundle for an IP CrowdSec does not know, and logs why in readable lines.
        expect(result.stdout.trim()).toBe('null');
        expect(result.stderr).toMatch(/^\d\d:\d\d:\d\d INFO +CrowdSec: .*198\.51\.100\.7 is unknown to CrowdSec/m);
        expect(result.stderr).not.toMatch(/^\{"timestamp"/m);
        expect(cti.requests.map((r) => r.path)).toEqual(['/v2/smoke/198.51.100.7']);
      } finally {
        await cti.close();
      }
    },
  );
});
