/**
 * docker/Dockerfile without a Docker engine. The file is read and checked (base, user, command, labels,
 * health check). Its build stage is run as Docker would run it: every RUN line but the installation of
 * pnpm itself, through `sh -c` with the build arguments in the environment, in a directory holding only
 * the files .dockerignore lets into the build context. The folder it produces (what the image copies:
 * scripts/bundle.ts's one-file bundle, its package.json and licenses) is measured and then started as the
 * image starts it: `node dist/main.js` from /app with nothing but the environment; for CrowdSec the daemon
 * against the stand-in platform, with the image's HEALTHCHECK command asked before and after SIGTERM.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { shapeOf } from '@cti/connector-sdk/internal';
import {
  type FakeRequest,
  type FakeVendor,
  startFakeVendor,
  startTestPlatform,
  type TestPlatform,
  waitUntil,
} from '@cti/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectorCase, connectorCases } from '../../scripts/conformance.js';
import {
  type Dockerfile,
  dockerignoreMatcher,
  envOf,
  type Instruction,
  parseDockerfile,
  runRuntimeStage,
  runtimeEnv,
  substitute,
} from '../../scripts/dockerfile.js';
import { connectorSlugs, loadConnector } from '../../scripts/folder.js';
import { REPO_ROOT } from '../../scripts/paths.js';

const dockerfile: Dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, 'docker', 'Dockerfile'), 'utf8'));
const slugs = connectorSlugs();
const work = mkdtempSync(join(tmpdir(), 'cti-image-'));
const buildStage = dockerfile.stages[0];
const runtime = dockerfile.stages.at(-1);
const excluded = dockerignoreMatcher(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
/** The build context: what `docker build .` would send, given .dockerignore. */
const context = join(work, 'context');
/**
 * What the image's processes start with: PATH (the base image's) and the runtime stage's ENV, its /app paths
 * (the compile cache) under `appDir`, the folder standing for /app (left out without one).
 */
const imageEnv = (appDir?: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, ...runtimeEnv(runtime, appDir) });

beforeAll(() => {
  const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  for (const file of listed.stdout.split('\n').filter(Boolean)) {
    if (excluded(file) || !existsSync(join(REPO_ROOT, file))) continue;
    mkdirSync(dirname(join(context, file)), { recursive: true });
    copyFileSync(join(REPO_ROOT, file), join(context, file));
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function argDefault(stage: { instructions: Instruction[] } | undefined, name: string): string | undefined {
  const arg = stage?.instructions.find((i) => i.keyword === 'ARG' && i.args.split('=')[0] === name);
  return arg?.args.split('=')[1];
}

function only(stage: { instructions: Instruction[] } | undefined, keyword: string): Instruction[] {
  return stage?.instructions.filter((i) => i.keyword === keyword) ?? [];
}

function healthcheckCommand(): string[] {
  const [check] = only(runtime, 'HEALTHCHECK');
  const json = check?.args.slice(check.args.indexOf('CMD ') + 4) ?? '';
  return JSON.parse(json) as string[];
}

function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  const result = spawnSync(command, args, { ...options, encoding: 'utf8', timeout: 170_000 });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

/**
 * A module a daemon preloads (`--import`) that writes, as it exits, the Node internals the process loaded
 * (`process.moduleLoadList`). Touching any of fetch, Headers, Request, Response or FormData makes Node load
 * its bundled fetch implementation, undici: about 7.5 MB of idle RSS no connector needs.
 */
function moduleListProbe(name: string): { args: string[]; env: Record<string, string>; loaded(): string[] } {
  const probe = join(work, 'module-list-probe.mjs');
  writeFileSync(
    probe,
    "import { writeFileSync } from 'node:fs';\n" +
      "process.on('exit', () => writeFileSync(process.env.CTI_MODULE_LIST, JSON.stringify(process.moduleLoadList)));\n",
  );
  const list = join(work, `${name}-modules.json`);
  return {
    args: ['--import', probe],
    env: { CTI_MODULE_LIST: list },
    loaded: () => JSON.parse(readFileSync(list, 'utf8')) as string[],
  };
}

/** The daemon loaded Node's own modules (the probe worked) and none of undici. */
function expectNoUndici(loaded: string[]): void {
  expect(loaded).toContain('NativeModule http');
  expect(loaded.filter((m) => /undici/i.test(m))).toEqual([]);
}

describe('docker/Dockerfile', () => {
  it('builds in a first stage and runs on a current Node LTS, slim or alpine, in the last', () => {
    expect(dockerfile.stages).toHaveLength(2);
    expect(buildStage?.name).toBe('build');
    const node = dockerfile.globalArgs.NODE_VERSION;
    expect(node).toBe('24');
    expect(substitute(runtime?.from ?? '', { NODE_VERSION: node })).toMatch(/^node:24-(alpine|bookworm-slim|slim)$/);
  });

  it('copies only the bundle folder into the image, as files the process cannot change', () => {
    const copies = only(runtime, 'COPY');
    expect(copies.map((c) => c.args)).toEqual(['--from=build /out /app']);
    expect(only(runtime, 'WORKDIR').map((w) => w.args)).toEqual(['/app']);
  });

  it("makes Node's compile cache in /app as the user the container runs as, then hands it to root, read-only", () => {
    const env = envOf(runtime);
    expect(env.NODE_COMPILE_CACHE).toBe('/app/compile-cache');
    expect(env.NODE_COMPILE_CACHE_PORTABLE).toBe('1');
    // USER and RUN after the COPY, in order: the folder for the user, its cache written as that user (Node
    // names the cache's folder after the uid), then owned by root and read-only for everyone.
    const steps = runtime?.instructions.filter((i) => i.keyword === 'USER' || i.keyword === 'RUN') ?? [];
    const copyLine = only(runtime, 'COPY')[0]?.line ?? Number.POSITIVE_INFINITY;
    expect(steps.every((s) => s.line > copyLine)).toBe(true);
    expect(steps.map((s) => s.keyword)).toEqual(['RUN', 'USER', 'RUN', 'USER', 'RUN', 'USER']);
    const user = argDefault(runtime, 'RUNTIME_USER');
    expect(user).toBe('node');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a build argument, expanded by docker
    expect(steps[1]?.args).toBe('${RUNTIME_USER}');
    expect(steps[2]?.args).toMatch(/^node dist\/main\.js --help /);
    expect(steps[3]?.args).toBe('root');
    expect(steps[4]?.args).toBe('chown -R root:root compile-cache && chmod -R a=rX compile-cache');
  });

  it('runs as the unprivileged node user, node itself as PID 1 (exec form), stopped by SIGTERM', () => {
    const users = only(runtime, 'USER').map((u) =>
      substitute(u.args, { RUNTIME_USER: argDefault(runtime, 'RUNTIME_USER') }),
    );
    expect(users.at(-1)).toBe('node');
    expect(only(runtime, 'CMD').map((c) => JSON.parse(c.args))).toEqual([['node', 'dist/main.js']]);
    expect(only(runtime, 'STOPSIGNAL').map((s) => s.args)).toEqual(['SIGTERM']);
    expect(only(runtime, 'ENTRYPOINT')).toEqual([]);
  });

  it('ships V8 heap flags in NODE_OPTIONS (runtime stage only) that node accepts and applies, as docs/operations.md says', () => {
    const env = envOf(runtime);
    expect(env.NODE_ENV).toBe('production');
    const options = env.NODE_OPTIONS ?? '';
    const semi = Number(/(?:^| )--max-semi-space-size=(\d+)(?: |$)/.exec(options)?.[1]);
    const old = Number(/(?:^| )--max-old-space-size=(\d+)(?: |$)/.exec(options)?.[1]);
    expect(semi).toBeGreaterThan(0);
    expect(old).toBeGreaterThan(0);
    expect(envOf(buildStage).NODE_OPTIONS, 'the build (pnpm, tsc) runs with node defaults').toBeUndefined();
    // Node refuses to start on a NODE_OPTIONS flag it does not allow there; V8 sizes the heap from these two.
    const probe = run(process.execPath, ['-p', "require('v8').getHeapStatistics().heap_size_limit"], {
      cwd: REPO_ROOT,
      env: imageEnv(),
    });
    expect(probe.code, probe.stderr).toBe(0);
    const limitMb = Number(probe.stdout.trim()) / 2 ** 20;
    expect(limitMb).toBeGreaterThanOrEqual(old);
    expect(limitMb).toBeLessThanOrEqual(old + 4 * semi);
    expect(readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8')).toContain(`NODE_OPTIONS="${options}"`);
  });

  it('reads ENV as docker does: KEY=value pairs, quoted values, the legacy one-variable form, later wins', () => {
    const parsed = parseDockerfile(
      'FROM a\nENV A=1 B="two words" C=\'x y\'\nENV D the rest of the line\nENV A=3 \\\n    E="q\\"uote"\n',
    );
    expect(envOf(parsed.stages[0])).toEqual({
      A: '3',
      B: 'two words',
      C: 'x y',
      D: 'the rest of the line',
      E: 'q"uote',
    });
    expect(() => envOf(parseDockerfile('FROM a\nENV A="unterminated\n').stages[0])).toThrow(/cannot read ENV/);
  });

  it('labels the image with its title, version and source (OCI)', () => {
    const labels = only(runtime, 'LABEL')
      .map((l) => l.args)
      .join(' ');
    for (const key of ['title', 'version', 'source', 'revision', 'licenses']) {
      expect(labels).toMatch(new RegExp(`org\\.opencontainers\\.image\\.${key}="[^"]+"`));
    }
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile build argument, expanded by docker
    expect(labels).toContain('org.opencontainers.image.title="cti/connector-${CONNECTOR}"');
  });

  it('has a health check that is an exec-form node command (no shell, no curl in the image)', () => {
    const command = healthcheckCommand();
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain('/health');
  });

  it('builds with the Node and pnpm versions the suite is developed and tested with (scripts/toolchain.sh)', () => {
    const toolchain = readFileSync(join(REPO_ROOT, 'scripts', 'toolchain.sh'), 'utf8');
    expect(toolchain).toContain(`CTI_NODE_VERSION="\${CTI_NODE_VERSION:-${dockerfile.globalArgs.NODE_VERSION}}"`);
    expect(toolchain).toContain(`CTI_PNPM_VERSION="\${CTI_PNPM_VERSION:-${argDefault(buildStage, 'PNPM_VERSION')}}"`);
  });

  it('bundles the connector alone into /out, after compiling it', () => {
    const runs = only(buildStage, 'RUN').map((r) => r.args);
    const bundle = runs.findIndex((r) => r.startsWith('node scripts/bundle.ts '));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a build argument, expanded by the RUN line's shell
    expect(runs[bundle]).toBe('node scripts/bundle.ts ${CONNECTOR} /out');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a build argument, expanded by the RUN line's shell
    expect(runs.indexOf('pnpm exec tsc -b connectors/${CONNECTOR}')).toBeLessThan(bundle);
    expect(runs.filter((r) => / deploy /.test(r))).toEqual([]);
  });
});

describe('.dockerignore', () => {
  const tracked = spawnSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);

  it('sends the workspace manifests and every package source the build compiles', () => {
    const needed = tracked.filter(
      (f) =>
        ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.npmrc', 'tsconfig.base.json'].includes(f) ||
        /^(packages|connectors)\/[^/]+\/(package\.json|tsconfig\.json)$/.test(f) ||
        /^(packages|connectors)\/[^/]+\/src\/.*\.ts$/.test(f),
    );
    const sources = needed.filter((f) => f.includes('/src/') && !f.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(20);
    for (const file of needed.filter((f) => !f.endsWith('.test.ts'))) expect(excluded(file), file).toBe(false);
  });

  it('keeps out build output, dependencies, tests, .env and config.yml files and the rest of the repository', () => {
    for (const file of [
      'node_modules/zod/package.json',
      'connectors/crowdsec/node_modules/@cti/connector-sdk/package.json',
      'connectors/crowdsec/dist/main.js',
      'packages/connector-sdk/dist/index.js',
      'connectors/crowdsec/.env',
      // A config.yml left in a folder holds secrets: it is mounted into the container, never built into the image.
      'connectors/crowdsec/config.yml',
      'connectors/crowdsec/src/config.yml',
      'connectors/crowdsec/test/crowdsec.test.ts',
      'packages/connector-sdk/src/config/config.test.ts',
      '.git/HEAD',
      'docs/architecture.md',
      'docker/docker-compose.yml',
      'demo-output/crowdsec.json',
    ]) {
      expect(excluded(file), file).toBe(true);
    }
  });
});

/** What the image of a connector may weigh, everything it copies included (issue 18: under 10 MB). */
const IMAGE_APP_LIMIT_BYTES = 10 * 1024 * 1024;

describe.each(slugs)('the %s image contents (the bundle folder)', (slug) => {
  const out = join(work, slug, 'app');

  beforeAll(() => {
    // ARGs are environment variables of RUN lines; RUN lines are `sh -c` commands run in WORKDIR.
    const env = { ...process.env, CI: 'true', CONNECTOR: slug, PNPM_VERSION: argDefault(buildStage, 'PNPM_VERSION') };
    for (const step of only(buildStage, 'RUN')) {
      // pnpm itself is already installed here (scripts/toolchain.sh, same version: checked above).
      if (step.args.startsWith('npm install --global')) continue;
      const command = step.args.replace(/ \/out$/, ` ${out}`);
      const result = run('sh', ['-c', command], { cwd: context, env });
      if (result.code !== 0) {
        throw new Error(
          `Dockerfile line ${step.line} failed for ${slug}: ${step.args}\n${result.stdout}\n${result.stderr}`,
        );
      }
    }
    // The runtime stage's own RUN lines (the compile cache), on the copied folder, as the current user.
    runRuntimeStage(runtime, out);
  });

  it('holds one bundled dist/main.js, its package.json and licenses: no node_modules, sources, tests or addons', () => {
    expect(existsSync(join(out, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(out, 'node_modules'))).toBe(false);
    expect(existsSync(join(out, 'src'))).toBe(false);
    expect(existsSync(join(out, 'test'))).toBe(false);
    expect(existsSync(join(out, '.env'))).toBe(false);
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else files.push(relative(out, path));
      }
    };
    walk(out);
    // Code only under dist/ (the entry and the chunks it imports lazily), pure JavaScript: what is built on
    // glibc (build stage) runs on musl (alpine).
    expect(
      files.filter(
        (f) =>
          !f.startsWith('licenses/') &&
          !f.startsWith('compile-cache/') &&
          f !== 'package.json' &&
          !/^dist\/.*\.js$/.test(f),
      ),
    ).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')) as Record<string, unknown>;
    const source = JSON.parse(readFileSync(join(REPO_ROOT, 'connectors', slug, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(pkg).toMatchObject({ name: source.name, version: source.version, type: 'module' });
    // Every dependency the connector runs is inside the bundle, with its license beside it.
    for (const dependency of ['zod', 'amqplib', 'axios', 'pino']) {
      expect(
        files.some((f) => f.startsWith(`licenses/${dependency}/`)),
        dependency,
      ).toBe(true);
    }
    // The OpenCTI client writes its GraphQL requests itself: no GraphQL library in a connector.
    expect(files.filter((f) => /^licenses\/graphql/.test(f))).toEqual([]);
  });

  it("leaves out axios's multipart support (form-data, mime-db): a vendor request is JSON or text", () => {
    for (const dependency of ['form-data', 'mime-types', 'mime-db', 'combined-stream']) {
      expect(existsSync(join(out, 'licenses', dependency)), dependency).toBe(false);
    }
    expect(readFileSync(join(out, 'dist', 'main.js'), 'utf8')).toContain('multipart bodies are not part of this build');
  });

  it('weighs under 10 MB, everything the image copies included', () => {
    const sizes = (dir: string): number =>
      readdirSync(dir, { withFileTypes: true }).reduce(
        (sum, entry) =>
          sum + (entry.isDirectory() ? sizes(join(dir, entry.name)) : statSync(join(dir, entry.name)).size),
        0,
      );
    expect(sizes(out)).toBeLessThan(IMAGE_APP_LIMIT_BYTES);
  });

  it("starts: `node dist/main.js --help` from /app with the image's environment only lists every setting", async () => {
    const loaded = await loadConnector(slug);
    if ('missing' in loaded) throw new Error(loaded.missing);
    const result = run(process.execPath, ['dist/main.js', '--help'], { cwd: out, env: imageEnv(out) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Settings (environment variables, which win over their config.yml keys):');
    for (const name of Object.keys(shapeOf(loaded.definition))) expect(result.stdout).toContain(`  ${name}`);
    const version = run(process.execPath, ['dist/main.js', '--version'], { cwd: out, env: imageEnv(out) });
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(new RegExp(`^${slug} \\S+ \\(cti-connector-sdk \\S+\\)`));
  });

  it('reads /app/config.yml, the file beside dist/, as documented for mounting it', () => {
    const file = join(out, 'config.yml');
    writeFileSync(file, 'opencti:\n  url: http://opencti:8080\nconnector:\n  no_such_key: 1\n');
    try {
      const result = run(process.execPath, ['dist/main.js'], { cwd: out, env: imageEnv(out) });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`connector.no_such_key (${file}, line 4): is not a setting of this connector`);
    } finally {
      rmSync(file);
    }
  });

  it('refuses to start without its required settings, naming them (exit 1)', () => {
    const result = run(process.execPath, ['dist/main.js'], { cwd: out, env: imageEnv(out) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Invalid configuration/);
  });

  it("holds Node's compile cache of the entry and every chunk, read-only, and node accepts it", () => {
    const cache = join(out, 'compile-cache');
    // One folder, named by Node after its version and the uid that made it (here the current user's).
    const [folder, ...others] = readdirSync(cache);
    expect(others).toEqual([]);
    expect(folder).toMatch(new RegExp(`^${process.version}-.*-${process.getuid?.() ?? ''}$`));
    const entries = readdirSync(join(cache, folder ?? ''));
    const code = readdirSync(join(out, 'dist'), { recursive: true }).filter((f) => String(f).endsWith('.js'));
    // One entry per file of dist/ (and one for the warm-up's own few lines).
    expect(entries.length).toBeGreaterThanOrEqual(code.length);
    for (const path of [cache, join(cache, folder ?? ''), ...entries.map((e) => join(cache, folder ?? '', e))]) {
      expect(statSync(path).mode & 0o222, `${relative(out, path)} is writable`).toBe(0);
    }
    const help = run(process.execPath, ['dist/main.js', '--help'], {
      cwd: out,
      env: { ...imageEnv(out), NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
    });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stderr).toMatch(/V8 code cache for ESM file:\/\/\S+\/dist\/main\.js was accepted/);
    expect(help.stderr).not.toMatch(/rejected|Cannot|failed/i);
  });

  it('is readable by the node user: no file only its owner may read', () => {
    const unreadable: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isSymbolicLink()) continue;
        if ((statSync(path).mode & 0o004) === 0) unreadable.push(relative(out, path));
        if (entry.isDirectory()) walk(path);
      }
    };
    walk(out);
    expect(unreadable).toEqual([]);
  });
});

describe('the crowdsec image as a daemon (stand-in platform, real broker)', () => {
  let platform: TestPlatform;
  let vendor: FakeVendor;
  let crowdsec: ConnectorCase;
  let daemon: ChildProcess | null = null;
  const out = join(work, 'crowdsec', 'app');
  const logs: string[] = [];
  let metricsPort = 0;

  beforeAll(async () => {
    platform = await startTestPlatform();
    metricsPort = await freePort();
    const found = (await connectorCases()).find((c) => c.slug === 'crowdsec');
    if (!found) throw new Error('connectors/crowdsec has no conformance case');
    crowdsec = found;
    const state = { issuedSecrets: [] as string[] };
    const route = (req: FakeRequest) => crowdsec.answer(req, vendor.url, state);
    vendor = await startFakeVendor({ 'GET *': route });
  });
  afterAll(async () => {
    daemon?.kill('SIGKILL');
    await vendor?.close();
    await platform?.close();
  });

  const env = () => ({
    ...imageEnv(out),
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_ID: randomUUID(),
    // The fake CrowdSec API of its conformance case, replaying the recorded answer.
    ...crowdsec.env(vendor.url),
    CONNECTOR_EXPOSE_METRICS: 'true',
    CONNECTOR_METRICS_PORT: String(metricsPort),
  });

  function healthcheck(environment: NodeJS.ProcessEnv) {
    const [command, ...args] = healthcheckCommand();
    return run(command === 'node' ? process.execPath : (command ?? ''), args, { cwd: out, env: environment });
  }

  it('registers, consumes, enriches through the bundled vendor client, answers the HEALTHCHECK, exits 0 on SIGTERM', async () => {
    expect(existsSync(join(out, 'dist', 'main.js')), 'the crowdsec bundle folder is built by the tests above').toBe(
      true,
    );
    // Node says what it does with the compile cache: the daemon's code comes from it.
    const environment = { ...env(), NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
    daemon = spawn(process.execPath, ['dist/main.js'], { cwd: out, env: environment });
    daemon.stdout?.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
    daemon.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => daemon?.on('exit', (code) => resolve(code)));

    await waitUntil(() => logs.join('').includes('listening for enrichment requests'), {
      timeoutMs: 60_000,
      message: `the daemon to consume (logs: ${logs.join('')})`,
    });
    expect(platform.connector(environment.CONNECTOR_ID)?.registrations.length).toBeGreaterThan(0);
    expect(logs.join('')).toMatch(/V8 code cache for ESM file:\/\/\S+\/dist\/chunks\/daemon-\w+\.js was accepted/);
    // One enrichment end to end: the bundle's HTTP client, zod validation, STIX building and the push path.
    const observable = crowdsec.observable;
    if (!observable) throw new Error('the crowdsec conformance case has no observable');
    const entity = platform.addEntity({ entity_type: observable.entity_type, value: observable.value });
    const work = await platform.waitForWork(
      await platform.askEnrichment(environment.CONNECTOR_ID, entity.standard_id),
      {
        timeoutMs: 30_000,
      },
    );
    expect(work.errors, logs.join('')).toEqual([]);
    expect(platform.objects({ workId: work.id }).length).toBeGreaterThan(0);
    platform.assertValidStix();
    const healthy = healthcheck(environment);
    expect(healthy.code, healthy.stderr).toBe(0);

    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
    daemon = null;
    expect(logs.join('')).toMatch(/SIGTERM received/);

    // Metrics on and nothing answering: unhealthy.
    expect(healthcheck(environment).code).toBe(1);
    // Metrics off: nothing to ask, the check passes while the container runs.
    expect(healthcheck(imageEnv(out)).code).toBe(0);
  });
  it('starts and enriches, without a word about it, where it can neither use nor write the compile cache', async () => {
    // The cache is read-only; a process Node would write an entry for finds none (an entry missing for this
    // uid) or no folder of its own (another uid: `docker run --user`, which gets no cache at all). As root the
    // tests would write anyway: they run the daemon as nobody then, with a copy of node it may execute.
    const asRoot = process.getuid?.() === 0;
    let node = process.execPath;
    let removed: string | null = null;
    const cache = join(out, 'compile-cache');
    if (asRoot) {
      const bin = join(work, 'bin');
      mkdirSync(bin, { recursive: true });
      node = join(bin, 'node');
      copyFileSync(process.execPath, node);
      for (const dir of [work, bin, join(work, 'crowdsec')]) chmodSync(dir, 0o755);
      chmodSync(node, 0o755);
    } else {
      // The daemon's own entry goes: Node will want to write it back into a folder it cannot write.
      const folder = join(cache, readdirSync(cache)[0] ?? '');
      const entry = readdirSync(folder).find((e) => statSync(join(folder, e)).size > 0);
      chmodSync(folder, 0o755);
      removed = join(folder, entry ?? '');
      rmSync(removed);
      chmodSync(folder, 0o555);
    }
    const before = readdirSync(cache, { recursive: true }).sort();
    const environment = env();
    const child = spawn(node, ['dist/main.js'], {
      cwd: out,
      env: environment,
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    daemon = child;
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitUntil(() => output.join('').includes('listening for enrichment requests'), {
      timeoutMs: 60_000,
      message: `the daemon to consume (logs: ${output.join('')})`,
    });
    const observable = crowdsec.observable;
    if (!observable) throw new Error('the crowdsec conformance case has no observable');
    const entity = platform.addEntity({ entity_type: observable.entity_type, value: observable.value });
    const work_ = await platform.waitForWork(
      await platform.askEnrichment(environment.CONNECTOR_ID, entity.standard_id),
      { timeoutMs: 30_000 },
    );
    expect(work_.errors, output.join('')).toEqual([]);
    expect(platform.objects({ workId: work_.id }).length).toBeGreaterThan(0);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    daemon = null;
    // Every line the daemon wrote is one of its own JSON log lines: no warning from Node about the cache.
    const lines = output.join('').split('\n').filter(Boolean);
    expect(
      lines.filter((l) => !l.startsWith('{')),
      output.join(''),
    ).toEqual([]);
    expect(output.join('')).not.toMatch(/compile cache|EACCES|permission denied/i);
    expect(readdirSync(cache, { recursive: true }).sort()).toEqual(before);
  });
});

describe.each(slugs)('the %s image at work never loads undici (stand-in platform, real broker)', (slug) => {
  let platform: TestPlatform;
  let vendor: FakeVendor;
  let connector: ConnectorCase;
  const out = join(work, slug, 'app');

  beforeAll(async () => {
    platform = await startTestPlatform();
    const found = (await connectorCases()).find((c) => c.slug === slug);
    if (!found) throw new Error(`connectors/${slug} has no conformance case`);
    connector = found;
    const state = { issuedSecrets: [] as string[] };
    const route = (req: FakeRequest) => connector.answer(req, vendor.url, state);
    vendor = await startFakeVendor({ 'GET *': route, 'POST *': route });
  });
  afterAll(async () => {
    await vendor?.close();
    await platform?.close();
  });

  // Registration, pings, works, the entity read and the push, or an import run reviewed in the workbench (the
  // multipart upload): the OpenCTI client, the vendor client and the broker, as the image runs them.
  it('enriches once, or imports once into the workbench, then exits 0', async () => {
    expect(existsSync(join(out, 'dist', 'main.js')), `the ${slug} bundle folder is built above`).toBe(true);
    const modules = moduleListProbe(slug);
    const connectorId = randomUUID();
    const importer = connector.kind === 'import';
    const child = spawn(process.execPath, [...modules.args, 'dist/main.js'], {
      cwd: out,
      env: {
        ...imageEnv(out),
        OPENCTI_URL: platform.url,
        OPENCTI_TOKEN: platform.token,
        CONNECTOR_ID: connectorId,
        ...(importer
          ? {
              CONNECTOR_DURATION_PERIOD: 'PT1H',
              CONNECTOR_RUN_AND_TERMINATE: 'true',
              CONNECTOR_VALIDATE_BEFORE_IMPORT: 'true',
            }
          : {}),
        ...connector.env(vendor.url),
        ...modules.env,
      },
    });
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (exit) => resolve(exit)));
    try {
      if (importer) {
        expect(await exited, output.join('')).toBe(0);
        const works = platform.worksOf(connectorId);
        expect(works.length, output.join('')).toBeGreaterThan(0);
        const files = platform.workbenchFiles().filter((f) => works.some((w) => f.name.startsWith(w.id)));
        expect(files.length, output.join('')).toBeGreaterThan(0);
      } else {
        await waitUntil(() => output.join('').includes('listening for enrichment requests'), {
          timeoutMs: 60_000,
          message: `the daemon to consume (logs: ${output.join('')})`,
        });
        const observable = connector.observable as { entity_type: string; value: string } | undefined;
        if (!observable) throw new Error(`the ${slug} conformance case has no observable`);
        const entity = platform.addEntity({ entity_type: observable.entity_type, value: observable.value });
        const done = await platform.waitForWork(await platform.askEnrichment(connectorId, entity.standard_id), {
          timeoutMs: 30_000,
        });
        expect(done.errors, output.join('')).toEqual([]);
        child.kill('SIGTERM');
        expect(await exited, output.join('')).toBe(0);
      }
    } finally {
      child.kill('SIGKILL');
    }
    expectNoUndici(modules.loaded());
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
