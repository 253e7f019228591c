/**
 * Delivery modes, end to end on the stand-in platform and the real broker: review before import (a workbench
 * file or a draft instead of queue messages), for an import run and for an enrichment whose request says
 * `validation_mode`, and the bundle files of CONNECTOR_SEND_TO_DIRECTORY with their retention.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assembleBundle,
  buildAuthor,
  buildObservable,
  defineImport,
  type StixBundle,
  TLP_MARKING_IDS,
  z,
} from '@cti/connector-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../../src/index.js';
import { echoConnector } from './echo-connector.js';
import { type FakeVendor, type RunningDaemon, startDaemon, startFakeVendor, until } from './helpers.js';

const VENDOR_KEY = 'vendor-key-delivery-0123456789';
const DAY_MS = 86_400_000;

/**
 * An importer of `pages` pages of two IPs each, one bundle per page, the state naming the last page.
 * `beforePage` runs before each page is built (a test breaks something there).
 */
function pagedImport(pages: number, beforePage: (page: number) => Promise<void> = async () => undefined) {
  return defineImport({
    name: 'Paged Feed',
    slug: 'paged-feed',
    config: {},
    state: z.object({ last_page: z.number() }),
    setup: () => null,
    async *run({ state }) {
      const author = buildAuthor('Paged Feed Org');
      for (let page = state ? state.last_page + 1 : 0; page < pages; page++) {
        await beforePage(page);
        const objects = [0, 1].map((i) =>
          buildObservable(
            'ipv4-addr',
            { value: `10.9.${page}.${i}` },
            { author, markings: [TLP_MARKING_IDS['TLP:GREEN']] },
          ),
        );
        const bundle: StixBundle = assembleBundle({ objects, author });
        yield { bundle, state: { last_page: page } };
      }
    },
  });
}

let platform: TestPlatform;
let vendor: FakeVendor;
let daemon: RunningDaemon | null = null;
const directories: string[] = [];

beforeAll(async () => {
  platform = await startTestPlatform();
  vendor = await startFakeVendor({ 'GET /lookup/:ip': () => ({ body: { verdict: 'suspicious' } }) });
});
afterEach(async () => {
  await daemon?.stop();
  daemon = null;
  await Promise.all(directories.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
afterAll(async () => {
  await vendor?.close();
  await platform?.close();
});

function importEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENCTI_URL: platform.url,
    OPENCTI_TOKEN: platform.token,
    CONNECTOR_ID: randomUUID(),
    CONNECTOR_RUN_AND_TERMINATE: 'true',
    ...extra,
  };
}

async function scratchDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cti-delivery-'));
  directories.push(dir);
  return dir;
}

const ipValues = (objects: ReadonlyArray<Record<string, unknown>>) =>
  objects.filter((o) => o.type === 'ipv4-addr').map((o) => o.value as string);

describe('review before import: an import run', () => {
  it('workbench (the default mode): every bundle of the run is a workbench file, nothing is queued', async () => {
    const env = importEnv({ CONNECTOR_VALIDATE_BEFORE_IMPORT: 'true' });
    daemon = startDaemon(pagedImport(3), env);
    expect(await daemon.exited).toBe(0);
    const connectorId = env.CONNECTOR_ID as string;

    const [work] = platform.worksOf(connectorId);
    expect(work?.status).toBe('complete');
    expect(work?.messages.at(-1)?.message).toMatch(
      /^Sent 3 bundles, 12 objects in [\d.]+s; 3 of them await review as import workbench files$/,
    );
    const workId = work?.id as string;
    const files = platform.workbenchFiles().filter((f) => f.name.startsWith(workId));
    // pycti's name for the first, then one file per bundle (pycti's same name would replace the earlier ones).
    expect(files.map((f) => f.name)).toEqual([`${workId}.json`, `${workId}_2.json`, `${workId}_3.json`]);
    expect(files.every((f) => f.mimeType === 'application/json' && f.entityId === null)).toBe(true);
    expect(files.flatMap((f) => f.fileMarkings)).toEqual([]);
    const reviewed = files.flatMap((f) => ipValues((f.bundle?.objects ?? []) as Array<Record<string, unknown>>));
    expect(reviewed.sort()).toEqual(['10.9.0.0', '10.9.0.1', '10.9.1.0', '10.9.1.1', '10.9.2.0', '10.9.2.1']);
    // Sent as a GraphQL multipart request, pycti's document.
    const uploads = platform.requests('UploadPending');
    expect(uploads).toHaveLength(3);
    expect(uploads[0]?.headers.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(uploads.every((r) => r.status === 200 && r.errors.length === 0)).toBe(true);

    expect(platform.pushMessages(connectorId)).toEqual([]);
    expect(platform.objects(connectorId)).toEqual([]);
    expect(platform.requests('addExpectations').filter((r) => r.variables.id === workId)).toEqual([]);
    // The run's progress still moves on with each bundle handed over.
    expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 2 });
    platform.assertValidStix();
  });

  it('draft (CONNECTOR_VALIDATION_MODE=draft): one draft for the run, every bundle sent into it', async () => {
    const env = importEnv({ CONNECTOR_VALIDATE_BEFORE_IMPORT: 'true', CONNECTOR_VALIDATION_MODE: 'draft' });
    daemon = startDaemon(pagedImport(2), env);
    expect(await daemon.exited).toBe(0);
    const connectorId = env.CONNECTOR_ID as string;
    const [listed] = platform.worksOf(connectorId);
    const work = await platform.waitForWork(listed?.id as string, { timeoutMs: 20_000 });
    expect(work.status).toBe('complete');

    const drafts = platform.drafts().filter((d) => d.name === `${work.id}.json`);
    expect(drafts).toHaveLength(1);
    const draftId = drafts[0]?.id as string;
    expect(drafts[0]?.entityId).toBeNull();
    expect(work.draft_context).toBe(draftId);
    expect(work.messages.at(-1)?.message).toMatch(new RegExp(`; they await review in draft ${draftId}$`));
    expect(platform.workbenchFiles().filter((f) => f.name.startsWith(work.id))).toEqual([]);

    const pushed = platform.pushMessages(connectorId);
    expect(pushed.length).toBeGreaterThan(0);
    expect(pushed.every((m) => m.envelope?.draft_id === draftId && m.envelope?.work_id === work.id)).toBe(true);
    const inDraft = platform.draftObjects(draftId).map((o) => o.object);
    expect(ipValues(inDraft).sort()).toEqual(['10.9.0.0', '10.9.0.1', '10.9.1.0', '10.9.1.1']);
    // A draft is not the platform's knowledge until someone approves it.
    for (const object of inDraft) expect(platform.knowledge(object.id as string)).toBeUndefined();
    platform.assertValidStix();
  });

  it('draft with CONNECTOR_QUEUE_PROTOCOL=api is refused at start-up: stixBundlePush cannot reach a draft', async () => {
    const env = importEnv({
      CONNECTOR_VALIDATE_BEFORE_IMPORT: 'true',
      CONNECTOR_VALIDATION_MODE: 'draft',
      CONNECTOR_QUEUE_PROTOCOL: 'api',
    });
    daemon = startDaemon(pagedImport(1), env);
    expect(await daemon.exited).toBe(1);
    expect(daemon.logs.join('\n')).toMatch(/CONNECTOR_VALIDATION_MODE: draft needs CONNECTOR_QUEUE_PROTOCOL=amqp/);
    expect(platform.connector(env.CONNECTOR_ID as string)).toBeUndefined();
  });

  it('without review, the same run is queued as usual (the control case)', async () => {
    const env = importEnv();
    daemon = startDaemon(pagedImport(1), env);
    expect(await daemon.exited).toBe(0);
    const connectorId = env.CONNECTOR_ID as string;
    const workId = platform.worksOf(connectorId)[0]?.id as string;
    await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(platform.workbenchFiles().filter((f) => f.name.startsWith(workId))).toEqual([]);
    expect(platform.pushMessages(connectorId).every((m) => m.envelope?.draft_id === null)).toBe(true);
    expect(ipValues(platform.objects(connectorId).map((o) => o.object)).sort()).toEqual(['10.9.0.0', '10.9.0.1']);
  });
});

describe('review before import: an enrichment whose request says validation_mode', () => {
  function startEnrichment(extra: Record<string, string> = {}) {
    daemon = startDaemon(echoConnector(vendor.url), {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      ECHO_KEY: VENDOR_KEY,
      CONNECTOR_ID: randomUUID(),
      ...extra,
    });
    return daemon;
  }
  async function listening(d: RunningDaemon) {
    await until(() => d.logs.some((l) => l.includes('listening for enrichment requests')), 20_000, 'the consumer');
  }

  it('force_validation with validation_mode workbench: the result is a workbench file named after the work', async () => {
    const d = startEnrichment();
    await listening(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.70' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id, {
      forceValidation: true,
      validationMode: 'workbench',
    });
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(work.status).toBe('complete');
    const file = platform.workbenchFiles().find((f) => f.name === `${workId}.json`);
    expect(file?.bundle?.type).toBe('bundle');
    expect(((file?.bundle?.objects ?? []) as Array<{ type: string }>).map((o) => o.type).sort()).toEqual([
      'identity',
      'indicator',
      'relationship',
    ]);
    expect(platform.pushMessages(d.connectorId).filter((m) => m.envelope?.work_id === workId)).toEqual([]);
  });

  it('force_validation with validation_mode draft: a draft is created and the result sent into it', async () => {
    const d = startEnrichment();
    await listening(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.71' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id, {
      forceValidation: true,
      validationMode: 'draft',
    });
    const work = await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(work.status).toBe('complete');
    const draft = platform.drafts().find((x) => x.name === `${workId}.json`);
    expect(draft).toBeDefined();
    expect(work.draft_context).toBe(draft?.id);
    const pushed = platform.pushMessages(d.connectorId).filter((m) => m.envelope?.work_id === workId);
    expect(pushed.length).toBe(3);
    expect(pushed.every((m) => m.envelope?.draft_id === draft?.id)).toBe(true);
    expect(
      platform
        .draftObjects(draft?.id as string)
        .map((o) => o.object.type)
        .sort(),
    ).toEqual(['identity', 'indicator', 'relationship']);
  });

  it('a request already in a draft goes into that draft: no new draft is created', async () => {
    const d = startEnrichment({ CONNECTOR_VALIDATE_BEFORE_IMPORT: 'true' });
    await listening(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.72' });
    const before = platform.drafts().length;
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id, {
      draftId: 'draft-of-the-analyst',
      validationMode: 'draft',
    });
    await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(platform.drafts()).toHaveLength(before);
    const pushed = platform.pushMessages(d.connectorId).filter((m) => m.envelope?.work_id === workId);
    expect(pushed.length).toBe(3);
    expect(pushed.every((m) => m.envelope?.draft_id === 'draft-of-the-analyst')).toBe(true);
  });

  it('a draft request with CONNECTOR_QUEUE_PROTOCOL=api ends in error: nothing reaches the live knowledge', async () => {
    const d = startEnrichment({ CONNECTOR_QUEUE_PROTOCOL: 'api' });
    await listening(d);
    const drafts = platform.drafts().length;
    const forced = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.75' });
    const forcedWork = await platform.askEnrichment(d.connectorId, forced.standard_id, {
      forceValidation: true,
      validationMode: 'draft',
    });
    const inDraft = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.76' });
    const inDraftWork = await platform.askEnrichment(d.connectorId, inDraft.standard_id, { draftId: 'draft-9' });
    for (const workId of [forcedWork, inDraftWork]) {
      const work = await platform.waitForWork(workId, { status: 'any-processed', timeoutMs: 20_000 });
      expect(work.errors.map((e) => e.message).join()).toMatch(
        /is for (a draft|draft draft-9), which CONNECTOR_QUEUE_PROTOCOL=api cannot reach/,
      );
    }
    expect(platform.drafts()).toHaveLength(drafts);
    expect(platform.requests('StixBundlePush').filter((r) => r.variables.connectorId === d.connectorId)).toEqual([]);
  });

  it('CONNECTOR_VALIDATE_BEFORE_IMPORT=true and no validation_mode: workbench, as pycti defaults', async () => {
    const d = startEnrichment({ CONNECTOR_VALIDATE_BEFORE_IMPORT: 'true' });
    await listening(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.73' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(platform.workbenchFiles().map((f) => f.name)).toContain(`${workId}.json`);
    expect(platform.pushMessages(d.connectorId).filter((m) => m.envelope?.work_id === workId)).toEqual([]);
  });

  it('a validation_mode the SDK does not know ends the work in error naming the field, nothing is sent', async () => {
    const d = startEnrichment();
    await listening(d);
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.74' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    // The same message as the platform's, with a mode no platform sends.
    const message = JSON.parse(platform.listenMessages(d.connectorId).at(-1)?.body ?? '{}') as {
      internal: { work_id: string };
      event: Record<string, unknown>;
    };
    const second = platform.worksOf(d.connectorId).length;
    await platform.waitForWork(workId, { timeoutMs: 20_000 });
    message.event.validation_mode = 'sideways';
    await platform.publishListenRaw(d.connectorId, JSON.stringify(message));
    await until(
      () => platform.work(workId)?.errors.some((e) => e.message.includes('event.validation_mode')) ?? false,
      20_000,
      'the error on the work',
    );
    expect(
      platform
        .work(workId)
        ?.errors.map((e) => e.message)
        .join(),
    ).toMatch(/expected workbench or draft/);
    expect(platform.worksOf(d.connectorId)).toHaveLength(second);
  });
});

describe('send to directory', () => {
  async function bundleFiles(dir: string): Promise<string[]> {
    return (await readdir(dir)).filter((n) => n.startsWith('paged_feed-') && n.endsWith('.json')).sort();
  }

  it('writes every bundle as pycti names it, also queues it, and deletes files older than the retention', async () => {
    const dir = await scratchDirectory();
    const old = Date.now() - 3 * DAY_MS;
    await writeFile(join(dir, 'expired.json'), '{}');
    await utimes(join(dir, 'expired.json'), old / 1000, old / 1000);
    await writeFile(join(dir, 'recent.json'), '{}');
    await utimes(join(dir, 'recent.json'), (Date.now() - DAY_MS / 2) / 1000, (Date.now() - DAY_MS / 2) / 1000);
    await writeFile(join(dir, 'expired.txt'), 'not a bundle file');
    await utimes(join(dir, 'expired.txt'), old / 1000, old / 1000);

    const env = importEnv({
      CONNECTOR_SEND_TO_DIRECTORY: 'true',
      CONNECTOR_SEND_TO_DIRECTORY_PATH: dir,
      CONNECTOR_SEND_TO_DIRECTORY_RETENTION: '2',
    });
    daemon = startDaemon(pagedImport(2), env);
    expect(await daemon.exited).toBe(0);
    const connectorId = env.CONNECTOR_ID as string;

    const names = await readdir(dir);
    expect(names).not.toContain('expired.json');
    expect(names).toContain('recent.json');
    expect(names).toContain('expired.txt');
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const files = await bundleFiles(dir);
    expect(files).toHaveLength(2);
    for (const name of files) expect(name).toMatch(/^paged_feed-\d{8}-\d{6}-\d{10}(\.\d+)?\.json$/);

    const documents = await Promise.all(files.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8'))));
    expect(documents[0]).toMatchObject({
      bundle_type: 'DIRECTORY_BUNDLE',
      applicant_id: platform.connector(connectorId)?.connector_user_id,
      connector: {
        id: connectorId,
        name: 'Paged Feed',
        type: 'EXTERNAL_IMPORT',
        scope: '',
        auto: false,
        validate_before_import: false,
      },
      entities_types: null,
      update: false,
    });
    const written = documents.flatMap((doc) => ipValues(doc.bundle.objects));
    expect(written.sort()).toEqual(['10.9.0.0', '10.9.0.1', '10.9.1.0', '10.9.1.1']);
    // "Also": the queue got the same objects (CONNECTOR_SEND_TO_QUEUE defaults to true).
    const workId = platform.worksOf(connectorId)[0]?.id as string;
    await platform.waitForWork(workId, { timeoutMs: 20_000 });
    expect(ipValues(platform.objects(connectorId).map((o) => o.object)).sort()).toEqual(written.sort());
  });

  it('a partial file a killed write left (.json.tmp) goes with the retention; one being written stays', async () => {
    const dir = await scratchDirectory();
    const old = Date.now() - 3 * DAY_MS;
    // What a process killed mid-write leaves: its temporary file, never renamed, never read by a carrier.
    const killed = 'paged_feed-20261201-000000-1764547200.0.json.tmp';
    await writeFile(join(dir, killed), '{"bundle_type":"DIRECTORY_BUN');
    await utimes(join(dir, killed), old / 1000, old / 1000);
    // Another process's write in progress (two connectors may share a directory).
    const inProgress = 'other_feed-20261207-000000-1765065600.0.json.tmp';
    await writeFile(join(dir, inProgress), '{"bundle_type":"DIRECTORY_BUN');
    const env = importEnv({
      CONNECTOR_SEND_TO_DIRECTORY: 'true',
      CONNECTOR_SEND_TO_DIRECTORY_PATH: dir,
      CONNECTOR_SEND_TO_DIRECTORY_RETENTION: '2',
    });
    daemon = startDaemon(pagedImport(1), env);
    expect(await daemon.exited).toBe(0);
    const names = await readdir(dir);
    expect(names).not.toContain(killed);
    expect(names).toContain(inProgress);
    expect(await bundleFiles(dir)).toHaveLength(1);
  });

  it('retention 0 keeps every file', async () => {
    const dir = await scratchDirectory();
    const ancient = Date.now() - 4000 * DAY_MS;
    await writeFile(join(dir, 'ancient.json'), '{}');
    await utimes(join(dir, 'ancient.json'), ancient / 1000, ancient / 1000);
    const env = importEnv({
      CONNECTOR_SEND_TO_DIRECTORY: 'true',
      CONNECTOR_SEND_TO_DIRECTORY_PATH: dir,
      CONNECTOR_SEND_TO_DIRECTORY_RETENTION: '0',
    });
    daemon = startDaemon(pagedImport(1), env);
    expect(await daemon.exited).toBe(0);
    expect(await readdir(dir)).toContain('ancient.json');
    expect(await bundleFiles(dir)).toHaveLength(1);
  });

  it('CONNECTOR_SEND_TO_QUEUE=false: the directory instead of the queue', async () => {
    const dir = await scratchDirectory();
    const env = importEnv({
      CONNECTOR_SEND_TO_DIRECTORY: 'true',
      CONNECTOR_SEND_TO_DIRECTORY_PATH: dir,
      CONNECTOR_SEND_TO_QUEUE: 'false',
    });
    daemon = startDaemon(pagedImport(2), env);
    expect(await daemon.exited).toBe(0);
    const connectorId = env.CONNECTOR_ID as string;
    expect(await bundleFiles(dir)).toHaveLength(2);
    expect(platform.pushMessages(connectorId)).toEqual([]);
    expect(
      platform.requests('addExpectations').filter((r) => r.variables.id === platform.worksOf(connectorId)[0]?.id),
    ).toEqual([]);
    expect(platform.worksOf(connectorId)[0]?.status).toBe('complete');
  });

  it('an enrichment writes its result too, with the applicant and the scope as configured', async () => {
    const dir = await scratchDirectory();
    daemon = startDaemon(echoConnector(vendor.url), {
      OPENCTI_URL: platform.url,
      OPENCTI_TOKEN: platform.token,
      ECHO_KEY: VENDOR_KEY,
      CONNECTOR_ID: randomUUID(),
      CONNECTOR_NAME: 'Echo Enrichment',
      CONNECTOR_SEND_TO_DIRECTORY: 'true',
      CONNECTOR_SEND_TO_DIRECTORY_PATH: dir,
    });
    const d = daemon;
    await until(() => d.logs.some((l) => l.includes('listening for enrichment requests')), 20_000, 'the consumer');
    const ip = platform.addEntity({ entity_type: 'IPv4-Addr', value: '198.51.100.80' });
    const workId = await platform.askEnrichment(d.connectorId, ip.standard_id);
    await platform.waitForWork(workId, { timeoutMs: 20_000 });
    const [name] = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    expect(name).toMatch(/^echo_enrichment-\d{8}-\d{6}-\d{10}(\.\d+)?\.json$/);
    const doc = JSON.parse(await readFile(join(dir, name as string), 'utf8'));
    expect(doc.connector).toMatchObject({ type: 'INTERNAL_ENRICHMENT', scope: 'IPv4-Addr,IPv6-Addr' });
    expect(doc.bundle.objects.map((o: { type: string }) => o.type).sort()).toEqual([
      'identity',
      'indicator',
      'relationship',
    ]);
  });

  it('a directory that fails mid-run fails the run naming the setting; the state stays at the last file', async () => {
    const dir = await scratchDirectory();
    const env = importEnv({ CONNECTOR_SEND_TO_DIRECTORY: 'true', CONNECTOR_SEND_TO_DIRECTORY_PATH: dir });
    // The directory goes away (an unmounted volume) after the first bundle was written.
    daemon = startDaemon(
      pagedImport(3, async (page) => {
        if (page === 1) await rm(dir, { recursive: true, force: true });
      }),
      env,
    );
    // A run-and-terminate run that failed exits 1.
    expect(await daemon.exited).toBe(1);
    const connectorId = env.CONNECTOR_ID as string;
    const work = await platform.waitForWork(platform.worksOf(connectorId)[0]?.id as string, {
      status: 'any-processed',
      timeoutMs: 20_000,
    });
    expect(work.errors.map((e) => e.message).join()).toMatch(
      /Could not list .* \(CONNECTOR_SEND_TO_DIRECTORY_PATH\) to apply the retention: it does not exist/,
    );
    expect(JSON.parse(platform.connector(connectorId)?.connector_state ?? 'null')).toEqual({ last_page: 0 });
    // Nothing of the failed bundle was queued: the directory comes before the queue, as in pycti.
    expect(ipValues(platform.objects(connectorId).map((o) => o.object)).sort()).toEqual(['10.9.0.0', '10.9.0.1']);
  });

  it('an unwritable directory stops the start with an error naming CONNECTOR_SEND_TO_DIRECTORY_PATH', async () => {
    // Permission bits do not stop root: /sys refuses new files to every user.
    let dir = '/sys';
    if (process.getuid?.() !== 0) {
      dir = join(await scratchDirectory(), 'read-only');
      await mkdir(dir, { mode: 0o555 });
    }
    const env = importEnv({ CONNECTOR_SEND_TO_DIRECTORY: 'true', CONNECTOR_SEND_TO_DIRECTORY_PATH: dir });
    daemon = startDaemon(pagedImport(1), env);
    expect(await daemon.exited).toBe(1);
    const output = daemon.logs.join('\n');
    expect(output).toMatch(/CONNECTOR_SEND_TO_DIRECTORY_PATH/);
    expect(output).toMatch(/cannot write files in/);
    expect(platform.connector(env.CONNECTOR_ID as string)).toBeUndefined();
  });

  it('a CONNECTOR_NAME too long for a file name stops the start naming it, before any bundle is lost', async () => {
    // 84 characters of 3 bytes: a name OpenCTI shows, but a bundle file name over the 255 bytes a file system takes.
    const dir = await scratchDirectory();
    const env = importEnv({
      CONNECTOR_NAME: '\u6f22'.repeat(84),
      CONNECTOR_SEND_TO_DIRECTORY: 'true',
      CONNECTOR_SEND_TO_DIRECTORY_PATH: dir,
    });
    daemon = startDaemon(pagedImport(1), env);
    expect(await daemon.exited).toBe(1);
    expect(daemon.logs.join('\n')).toMatch(/CONNECTOR_NAME.*too long for the bundle file names/);
    expect(platform.connector(env.CONNECTOR_ID as string)).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a missing path or directory is an error naming the setting', async () => {
    const env = importEnv({ CONNECTOR_SEND_TO_DIRECTORY: 'true' });
    daemon = startDaemon(pagedImport(1), env);
    expect(await daemon.exited).toBe(1);
    expect(daemon.logs.join('\n')).toMatch(
      /CONNECTOR_SEND_TO_DIRECTORY_PATH.*required when CONNECTOR_SEND_TO_DIRECTORY is true/,
    );
    await daemon.stop();
    const missing = join(await scratchDirectory(), 'nowhere');
    daemon = startDaemon(
      pagedImport(1),
      importEnv({ CONNECTOR_SEND_TO_DIRECTORY: 'true', CONNECTOR_SEND_TO_DIRECTORY_PATH: missing }),
    );
    expect(await daemon.exited).toBe(1);
    expect(daemon.logs.join('\n')).toMatch(/CONNECTOR_SEND_TO_DIRECTORY_PATH.*does not exist/);
  });
});
