/**
 * The GitHub workflows cannot run here; what they promise is checked by reading them: CI runs `.ci/run`
 * with the broker and Redis the tests use, and a tag builds and pushes one image per connector folder.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectorSlugs, requireConnectors } from './folder.js';
import { connectorManifest } from './manifest.js';
import { REPO_ROOT } from './paths.js';
import { parseYaml, type YamlValue } from './yaml.js';

type Tree = { [key: string]: YamlValue };

function load(name: string): Tree {
  const doc = parseYaml(readFileSync(join(REPO_ROOT, '.github', 'workflows', name), 'utf8'));
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${name}: not a mapping`);
  return doc;
}

function at(tree: YamlValue | undefined, ...path: string[]): YamlValue | undefined {
  let node = tree;
  for (const key of path) {
    if (node === null || node === undefined || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = node[key];
  }
  return node;
}

function steps(job: YamlValue | undefined): Tree[] {
  const list = at(job, 'steps');
  return Array.isArray(list) ? (list as Tree[]) : [];
}

describe('.github/workflows/ci.yml', () => {
  const ci = load('ci.yml');
  const job = at(ci, 'jobs', 'ci');

  it('runs .ci/run, the script a fresh machine runs, on Node 24', () => {
    accessSync(join(REPO_ROOT, '.ci', 'run'), constants.X_OK);
    expect(steps(job).map((s) => s.run)).toContain('.ci/run');
    expect(steps(job).find((s) => String(s.uses ?? '').startsWith('actions/setup-node@'))?.with).toEqual({
      'node-version': 24,
    });
  });

  it('gives the tests a RabbitMQ on 127.0.0.1:5672 and a Redis on 127.0.0.1:6379', () => {
    expect(String(at(job, 'services', 'rabbitmq', 'image'))).toMatch(/^rabbitmq:/);
    expect(at(job, 'services', 'rabbitmq', 'ports')).toContain('5672:5672');
    expect(String(at(job, 'services', 'redis', 'image'))).toMatch(/^redis:/);
    expect(at(job, 'services', 'redis', 'ports')).toContain('6379:6379');
    expect(at(job, 'env')).toMatchObject({
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
  });

  it('runs on pushes, pull requests, and when images.yml calls it', () => {
    expect(Object.keys(at(ci, 'on') as Tree).sort()).toEqual(['pull_request', 'push', 'workflow_call']);
  });
});

describe('.github/workflows/images.yml', () => {
  const images = load('images.yml');
  const job = at(images, 'jobs', 'image');

  it('runs on version tags, after the whole CI', () => {
    expect(at(images, 'on', 'push', 'tags')).toEqual(['v*']);
    expect(at(images, 'jobs', 'test', 'uses')).toBe('./.github/workflows/ci.yml');
    expect(at(job, 'needs')).toBe('test');
  });

  it('builds one image per connector folder, from docker/Dockerfile with CONNECTOR set', () => {
    expect([...(at(job, 'strategy', 'matrix', 'connector') as string[])].sort()).toEqual(connectorSlugs());
    const builds = steps(job).filter((s) => String(s.uses ?? '').startsWith('docker/build-push-action@'));
    expect(builds).toHaveLength(2);
    for (const build of builds) {
      expect(at(build, 'with', 'file')).toBe('docker/Dockerfile');
      expect(at(build, 'with', 'context')).toBe('.');
      expect(String(at(build, 'with', 'build-args'))).toMatch(/^CONNECTOR=\$\{\{ matrix\.connector \}\}$/m);
    }
    expect(at(builds[1], 'with', 'push')).toBe(true);
    expect(String(at(job, 'env', 'IMAGE'))).toMatch(/\/connector-\$\{\{ matrix\.connector \}\}$/);
  });

  it('pushes each image where its catalog entry says it is: the manifest image, with the version and rolling', async () => {
    const image = String(at(job, 'env', 'IMAGE'));
    for (const connector of await requireConnectors()) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the workflow's expression, substituted as Actions does
      const pushed = image.replace('${{ matrix.connector }}', connector.slug);
      expect(pushed, connector.slug).toBe(connectorManifest(connector).container_image);
    }
    const login = steps(job).find((s) => String(s.uses ?? '').startsWith('docker/login-action@'));
    expect(at(login, 'with', 'registry')).toBe(image.split('/')[0]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the workflow's expression, as written in it
    expect(at(login, 'with', 'password')).toBe('${{ secrets.GITHUB_TOKEN }}');
    expect(at(job, 'permissions', 'packages')).toBe('write');
    const meta = steps(job).find((s) => String(s.uses ?? '').startsWith('docker/metadata-action@'));
    const tags = String(at(meta, 'with', 'tags')).split('\n');
    expect(tags).toContain('type=semver,pattern={{version}}');
    // rolling only from a release tag: a manual run must not move it.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the workflow's expression, as written in it
    expect(tags).toContain("type=raw,value=rolling,enable=${{ startsWith(github.ref, 'refs/tags/v') }}");
    expect(at(meta, 'with', 'flavor')).toBe('latest=false');
  });

  it('starts the image once before pushing it', () => {
    const names = steps(job).map((s) => String(s.name ?? s.uses ?? ''));
    const smoke = names.findIndex((n) => n.startsWith('Smoke test'));
    const push = names.findIndex((n) => n.startsWith('Build and push'));
    expect(smoke).toBeGreaterThan(0);
    expect(smoke).toBeLessThan(push);
    expect(String(steps(job)[smoke]?.run)).toContain('node dist/main.js --help');
  });
});
