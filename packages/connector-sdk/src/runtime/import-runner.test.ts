import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../log/index.js';
import { assembleBundle, buildAuthor, buildObservable } from '../stix/index.js';
import type { BoundImport } from './bind.js';
import type { ImportItem } from './define.js';
import { type ImportPlatform, ImportRunner } from './import-runner.js';
import { Metrics } from './metrics.js';

type State = { page: number };

/**
 * A run over pages 0..last, then one more request that finds nothing; `during(page)` runs while the
 * handler works on that page, as a vendor call would (it may stop or cancel the run, or throw).
 */
function runner(last: number, during: (page: number, signal: AbortSignal) => Promise<void> = async () => undefined) {
  const saved: State[] = [];
  const works: string[] = [];
  const author = buildAuthor('Pages');
  const connector: BoundImport<State> = {
    kind: 'import',
    name: 'Pages',
    slug: 'pages',
    version: undefined,
    state: z.object({ page: z.number() }),
    workName: (now) => `Pages run @ ${now.toISOString()}`,
    async *run({ signal }: { signal: AbortSignal }): AsyncGenerator<ImportItem<State>> {
      for (let page = 0; page <= last; page++) {
        await during(page, signal);
        const objects = [buildObservable('ipv4-addr', { value: `10.0.0.${page}` }, { author })];
        yield { bundle: assembleBundle({ objects, author }), state: { page } };
      }
      await during(last + 1, signal);
    },
  };
  const platform: ImportPlatform = {
    workAdd: async () => 'work-1',
    workToProcessed: async (_id, message, inError) => void works.push(`${inError ? 'ERROR' : 'ok'}: ${message}`),
    workAddExpectations: async () => undefined,
    workReportExpectation: async () => undefined,
  };
  const run = new ImportRunner<State>({
    connector,
    updateExistingData: false,
    platform,
    sink: { send: async (bundle) => ({ objects: bundle.objects.length }) },
    state: { load: () => null, save: async (s) => void saved.push(s) },
    logger: silentLogger(),
    metrics: new Metrics(),
    connectorId: 'c',
    connectorUserId: null,
    dryRun: false,
  });
  return { run, saved, works };
}

/** Settles as a vendor call does when its signal fires. */
const abortedBy = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

describe('ImportRunner stopping', () => {
  it('a stop finishes the item in hand (sent, state saved), takes no other, and says interrupted', async () => {
    const stop = new AbortController();
    const cancel = new AbortController();
    const t = runner(5, async (page) => {
      if (page === 2) stop.abort(new Error('SIGTERM received'));
    });
    const outcome = await t.run.run(stop.signal, cancel.signal);
    expect(outcome).toMatchObject({ status: 'interrupted', bundles: 3 });
    expect(t.saved.at(-1)).toEqual({ page: 2 });
    expect(t.works).toEqual([expect.stringMatching(/^ok: Import interrupted \(SIGTERM received\) after 3 bundles/)]);
  });

  it('a cancel abandons the item in hand without saving its state, and it is still not a failure', async () => {
    const stop = new AbortController();
    const cancel = new AbortController();
    const t = runner(5, async (page, signal) => {
      if (page !== 2) return;
      stop.abort(new Error('SIGTERM received'));
      cancel.abort(new Error('the shutdown grace period is over'));
      await abortedBy(signal);
    });
    const outcome = await t.run.run(stop.signal, cancel.signal);
    expect(outcome.status).toBe('interrupted');
    expect(t.saved.at(-1)).toEqual({ page: 1 });
    expect(t.works[0]).toMatch(/^ok: Import interrupted \(SIGTERM received\) after 2 bundles .*abandoned/);
  });

  it('a vendor failure during the grace period is a failure, not an interruption', async () => {
    const stop = new AbortController();
    const t = runner(5, async (page) => {
      if (page !== 2) return;
      stop.abort(new Error('SIGTERM received'));
      throw new Error('vendor answered 500');
    });
    const outcome = await t.run.run(stop.signal, new AbortController().signal);
    expect(outcome.status).toBe('failed');
    expect(t.works[0]).toMatch(/^ERROR: Import failed .*vendor answered 500/);
  });

  it('a run whose handler finishes during the grace period is complete', async () => {
    const stop = new AbortController();
    const t = runner(1, async (page) => {
      if (page === 2) stop.abort(new Error('SIGTERM received'));
    });
    const outcome = await t.run.run(stop.signal, new AbortController().signal);
    expect(outcome).toMatchObject({ status: 'processed', bundles: 2 });
    expect(t.works).toEqual([expect.stringMatching(/^ok: Imported 2 bundles/)]);
  });
});
