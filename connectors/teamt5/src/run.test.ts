import { readFileSync } from 'node:fs';
import { type ImportItem, UpstreamApiError } from '@cti/connector-sdk';
import { describe, expect, it } from 'vitest';
import { type IndicatorBundleRef, type Listed, type ReportRef, Teamt5AuthError } from './client.js';
import { DEFAULT_CONNECTOR_NAME } from './config.js';
import { importTeamt5, MAX_FAILURES_IN_A_ROW, type Teamt5Source, WORKS } from './run.js';
import { formatStateDate, type Teamt5State } from './state.js';
import { teamt5Author } from './to-stix.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
const reportObjects: unknown[] = fixture('report-stix.json').objects;
const iocObjects: unknown[] = fixture('indicator-bundle-stix.json').objects;

const NOW = new Date('2026-05-22T11:00:00Z');
const STARTED = NOW.getTime() / 1000;
const DAY = 86_400;

function report(alias: string, date: number): ReportRef {
  return {
    title: `Report ${alias}`,
    alias,
    digest: `digest of ${alias}`,
    date,
    typeName: 'Flash Report',
    stixUrl: `https://api.threatvision.org/api/v2/reports/${alias}.stix`,
    pdfUrl: null,
  };
}

function iocBundle(id: string, date: number, stix = true): IndicatorBundleRef {
  return { id, date, stixUrl: stix ? `https://api.threatvision.org/api/v2/ioc_bundles/${id}.stix` : null };
}

/** TeamT5 in memory: listings filtered by date[from], newest first, and recorded downloads. */
class FakeTeamt5 implements Teamt5Source {
  readonly listedSince: Record<string, number[]> = { reports: [], ioc: [] };
  readonly downloads: string[] = [];
  readonly answers = new Map<string, unknown[] | Error>();
  listingError: { reports?: Error; ioc?: Error } = {};
  unreadable: Array<Listed<ReportRef>> = [];

  constructor(
    public reports: ReportRef[],
    public bundles: IndicatorBundleRef[],
  ) {}

  async *listReports(since: number): AsyncGenerator<Listed<ReportRef>> {
    this.listedSince.reports?.push(since);
    if (this.listingError.reports) throw this.listingError.reports;
    yield* this.unreadable;
    for (const ref of this.reports) if (ref.date >= since) yield { ok: true, ref };
  }

  async *listIndicatorBundles(since: number): AsyncGenerator<Listed<IndicatorBundleRef>> {
    this.listedSince.ioc?.push(since);
    if (this.listingError.ioc) throw this.listingError.ioc;
    for (const ref of this.bundles) if ((ref.date ?? 0) >= since) yield { ok: true, ref };
  }

  async downloadBundle(url: string): Promise<unknown[]> {
    this.downloads.push(url);
    const answer = this.answers.get(url);
    if (answer instanceof Error) throw answer;
    return answer ?? (url.includes('/reports/') ? reportObjects : iocObjects);
  }
}

interface RunResult {
  items: Array<ImportItem<Teamt5State>>;
  errors: Array<{ message: string; work: string }>;
  /** The last state yielded: what the SDK saves once the bundles before it are confirmed. */
  saved: Teamt5State | null;
  failure: unknown;
}

async function run(source: Teamt5Source, state: Teamt5State | null, signal = new AbortController().signal) {
  const result: RunResult = { items: [], errors: [], saved: state, failure: null };
  const logs: string[] = [];
  const log = (_obj: Record<string, unknown>, msg: string) => void logs.push(msg);
  try {
    for await (const item of importTeamt5({
      client: source,
      state,
      firstRunTimestamp: 0,
      mapping: { author: teamt5Author(DEFAULT_CONNECTOR_NAME), tlp: 'TLP:AMBER' },
      logger: { debug: log, info: log, warn: log, error: log },
      signal,
      now: () => NOW,
      reportError: async (message, { work }) => void result.errors.push({ message, work }),
    })) {
      result.items.push(item);
      if (item.state !== undefined) result.saved = item.state;
    }
  } catch (err) {
    result.failure = err;
  }
  return result;
}

const bundlesOf = (r: RunResult, work: string) => r.items.filter((i) => i.bundle && i.work === work);
const reportNames = (r: RunResult) =>
  r.items.flatMap((i) => i.bundle?.objects.filter((o) => o.type === 'report').map((o) => o.name) ?? []);

const catalogue = () =>
  new FakeTeamt5(
    [
      report('r4', STARTED - DAY),
      report('r3', STARTED - 2 * DAY),
      report('r2', STARTED - 3 * DAY),
      report('r1', STARTED - 4 * DAY),
    ],
    [iocBundle('b3', STARTED - DAY), iocBundle('b2', STARTED - 2 * DAY, false), iocBundle('b1', STARTED - 3 * DAY)],
  );

describe('an import run', () => {
  it('imports reports then indicator bundles, each in its work, and saves the start of the run', async () => {
    const teamt5 = catalogue();
    const r = await run(teamt5, null);
    expect(r.failure).toBeNull();
    expect(teamt5.listedSince).toEqual({ reports: [0], ioc: [0] });
    expect(bundlesOf(r, WORKS.reports)).toHaveLength(4);
    expect(bundlesOf(r, WORKS.indicator_bundles)).toHaveLength(2); // b2 has no stix_url: nothing to download
    expect(reportNames(r)).toEqual(['Report r4', 'Report r3', 'Report r2', 'Report r1']);
    expect(r.errors).toEqual([]);
    expect(r.saved).toEqual({ last_run: '2026-05-22T11:00:00+00:00' });
    // Each bundle carries the progress it proves, saved only once it is confirmed.
    expect(r.items[0]?.state).toEqual({
      last_run: formatStateDate(0),
      reports: {
        last_run: formatStateDate(0),
        in_progress: { started: formatStateDate(STARTED), done_after: formatStateDate(STARTED - DAY) },
      },
      indicator_bundles: { last_run: formatStateDate(0) },
    });
  });

  it('from that state, imports nothing new', async () => {
    const teamt5 = catalogue();
    const first = await run(teamt5, null);
    const second = await run(teamt5, first.saved);
    expect(teamt5.listedSince).toEqual({ reports: [0, STARTED], ioc: [0, STARTED] });
    expect(second.items.filter((i) => i.bundle)).toEqual([]);
    expect(second.saved).toEqual({ last_run: '2026-05-22T11:00:00+00:00' });
  });

  it("reads upstream's older date format", async () => {
    const teamt5 = catalogue();
    await run(teamt5, { last_run: '2026-05-20 11:00:00' });
    expect(teamt5.listedSince.reports).toEqual([STARTED - 2 * DAY]);
  });

  it('reports a broken item on its work, skips it, and does not freeze the cursor', async () => {
    const teamt5 = catalogue();
    teamt5.answers.set(
      'https://api.threatvision.org/api/v2/reports/r3.stix',
      new UpstreamApiError('TeamT5 API answered 500 Internal Server Error for GET … after 4 attempts', {
        vendor: 'TeamT5',
        retryable: true,
        status: 500,
      }),
    );
    const dangling = {
      type: 'relationship',
      id: 'relationship--6fe8c22f-07f6-58a8-9dd9-06730599124d',
      spec_version: '2.1',
      relationship_type: 'uses',
      source_ref: 'threat-actor--5d18a8e1-2fd4-55c8-bf46-356ce30f1963',
      target_ref: 'malware--00000000-0000-5000-8000-000000000000',
    };
    teamt5.answers.set('https://api.threatvision.org/api/v2/ioc_bundles/b1.stix', [dangling]);
    const r = await run(teamt5, null);
    expect(r.failure).toBeNull();
    expect(reportNames(r)).toEqual(['Report r4', 'Report r2', 'Report r1']);
    expect(r.errors).toEqual([
      {
        work: WORKS.reports,
        message: 'TeamT5 report r3: TeamT5 API answered 500 Internal Server Error for GET … after 4 attempts; skipped',
      },
      {
        work: WORKS.indicator_bundles,
        message: expect.stringMatching(
          /^TeamT5 indicator bundle b1: The STIX bundle is invalid: .*dangling reference to threat-actor--5d18a8e1.*; skipped$/,
        ),
      },
    ]);
    expect(r.saved).toEqual({ last_run: '2026-05-22T11:00:00+00:00' });
  });

  it('reports an unreadable listing item and goes on', async () => {
    const teamt5 = catalogue();
    teamt5.unreadable = [
      {
        ok: false,
        label: 'report #1 of the listing',
        date: null,
        problem: 'unreadable listing item (title: required)',
      },
    ];
    const r = await run(teamt5, null);
    expect(r.errors.map((e) => e.message)).toEqual([
      'TeamT5 report #1 of the listing: unreadable listing item (title: required); skipped',
    ]);
    expect(bundlesOf(r, WORKS.reports)).toHaveLength(4);
  });

  it(`stops a stream after ${MAX_FAILURES_IN_A_ROW} failures in a row, keeping them for the next run`, async () => {
    const reports = [
      report('r10', STARTED - DAY / 2),
      report('r9', STARTED - DAY),
      ...[8, 7, 6, 5, 4].map((n) => report(`r${n}`, STARTED - (10 - n) * DAY)),
      report('r3', STARTED - 8 * DAY),
    ];
    const teamt5 = new FakeTeamt5(reports, [iocBundle('b1', STARTED - DAY)]);
    for (const n of [8, 7, 6, 5, 4]) {
      teamt5.answers.set(`https://api.threatvision.org/api/v2/reports/r${n}.stix`, new Error('connect ECONNREFUSED'));
    }
    const r = await run(teamt5, null);
    expect(r.failure).toBeInstanceOf(UpstreamApiError);
    expect((r.failure as Error).message).toBe(
      '5 TeamT5 reports in a row could not be imported (the last: report r4): the reports stop here for this run, and the next run tries them again',
    );
    // r3 was never tried; the indicator bundles still ran.
    expect(teamt5.downloads).not.toContain('https://api.threatvision.org/api/v2/reports/r3.stix');
    expect(bundlesOf(r, WORKS.indicator_bundles)).toHaveLength(1);
    expect(r.errors.at(-1)).toEqual({
      work: WORKS.reports,
      message: expect.stringMatching(/^TeamT5 reports not finished: 5 TeamT5 reports in a row/),
    });
    // The reports' cursor stays at r9, the last one imported: r8…r4 are tried again next run.
    expect(r.saved).toEqual({
      last_run: formatStateDate(0),
      reports: {
        last_run: formatStateDate(0),
        in_progress: { started: formatStateDate(STARTED), done_after: formatStateDate(STARTED - DAY) },
      },
      indicator_bundles: { last_run: formatStateDate(STARTED) },
    });

    // The next run skips r10 without downloading it, takes r9 again (the boundary: another item of the same
    // date may have been left), and tries r8…r4 again.
    teamt5.answers.clear();
    teamt5.downloads.length = 0;
    const next = await run(teamt5, r.saved);
    expect(next.failure).toBeNull();
    expect(teamt5.listedSince.reports?.at(-1)).toBe(0);
    expect(teamt5.downloads).not.toContain('https://api.threatvision.org/api/v2/reports/r10.stix');
    expect(reportNames(next)).toEqual([
      'Report r9',
      'Report r8',
      'Report r7',
      'Report r6',
      'Report r5',
      'Report r4',
      'Report r3',
    ]);
    expect(next.saved).toEqual({ last_run: formatStateDate(STARTED) });
  });

  it('goes on with the indicator bundles when the reports listing fails, then fails the run', async () => {
    const teamt5 = catalogue();
    teamt5.listingError.reports = new UpstreamApiError('TeamT5 API could not be reached for GET …', {
      vendor: 'TeamT5',
      retryable: true,
    });
    const r = await run(teamt5, { last_run: formatStateDate(STARTED - 10 * DAY) });
    expect((r.failure as Error).message).toBe('TeamT5 API could not be reached for GET …');
    expect(r.errors).toEqual([
      {
        work: WORKS.reports,
        message:
          'TeamT5 reports not finished: TeamT5 API could not be reached for GET …. The saved state keeps what was imported; the next run goes on from there',
      },
    ]);
    expect(bundlesOf(r, WORKS.indicator_bundles)).toHaveLength(2);
    expect(r.saved).toEqual({
      last_run: formatStateDate(STARTED - 10 * DAY),
      reports: { last_run: formatStateDate(STARTED - 10 * DAY) },
      indicator_bundles: { last_run: formatStateDate(STARTED) },
    });
  });

  it('stops at once when TeamT5 refuses the credentials', async () => {
    const teamt5 = catalogue();
    teamt5.answers.set(
      'https://api.threatvision.org/api/v2/reports/r4.stix',
      new Teamt5AuthError('TeamT5 rejected TEAMT5_API_KEY (HTTP 401 …)', { status: 401, retryable: false }),
    );
    const r = await run(teamt5, null);
    expect(r.failure).toBeInstanceOf(Teamt5AuthError);
    expect(r.errors).toEqual([]);
    expect(teamt5.listedSince.ioc).toEqual([]);
    expect(r.saved).toBeNull();
  });

  it('stops when the run is aborted (shutdown, or a reset from the UI)', async () => {
    const teamt5 = catalogue();
    const controller = new AbortController();
    teamt5.answers.set('https://api.threatvision.org/api/v2/reports/r3.stix', new Error('aborted'));
    const original = teamt5.downloadBundle.bind(teamt5);
    teamt5.downloadBundle = async (url) => {
      if (url.endsWith('r3.stix')) controller.abort();
      return original(url);
    };
    const r = await run(teamt5, null, controller.signal);
    expect(r.failure).toBeInstanceOf(Error);
    expect(r.errors).toEqual([]);
    expect(reportNames(r)).toEqual(['Report r4']);
  });
});
