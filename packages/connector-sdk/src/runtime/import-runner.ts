/**
 * One import run: works opened lazily by name, each yielded bundle split and confirmed before the next is
 * taken (memory stays bounded), the yielded state saved only once everything before it is confirmed, and
 * every opened work marked processed at the end (in error, keeping the last saved state, on failure).
 * A bundle the sink refuses whole (it cannot be sent, on this run or any other) is reported on its work
 * and skipped: the run goes on, as it does for an item the connector reports with reportError.
 */
import { BundleRefusedError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { StixBundle } from '../stix/index.js';
import type { BoundImport } from './bind.js';
import { describe } from './enrichment.js';
import type { Metrics } from './metrics.js';
import type { BundleSink } from './sinks.js';

export interface ImportPlatform {
  workAdd(connectorId: string, friendlyName: string): Promise<string>;
  workToProcessed(workId: string, message: string, inError: boolean): Promise<unknown>;
  workAddExpectations(workId: string, expectations: number): Promise<unknown>;
  workReportExpectation(workId: string, error?: { error: string; source: string }): Promise<unknown>;
}

/** Where the state lives: the platform (saved at once through a ping), or nowhere in a dry run. */
export interface StateStore<State> {
  load(): State | null;
  save(state: State): Promise<void>;
}

export interface RunOutcome {
  status: 'processed' | 'failed' | 'interrupted';
  bundles: number;
  objects: number;
  message: string;
}

export interface ImportRunnerOptions<State> {
  /** The import, its settings and vendor client bound in. */
  connector: BoundImport<State>;
  /** CONNECTOR_UPDATE_EXISTING_DATA: asks the worker to update what the platform already holds. */
  updateExistingData: boolean;
  /** Null in a dry run: no works. */
  platform: ImportPlatform | null;
  sink: BundleSink;
  state: StateStore<State>;
  logger: Logger;
  metrics: Metrics;
  connectorId: string;
  connectorUserId: string | null;
  dryRun: boolean;
  now?: () => Date;
}

export class ImportRunner<State> {
  private readonly now: () => Date;

  constructor(private readonly o: ImportRunnerOptions<State>) {
    this.now = o.now ?? (() => new Date());
  }

  /**
   * Runs once. `stop` ends the run after the item in hand (a shutdown: its bundle is sent and its state
   * saved); `cancel` abandons the item in hand too (the grace period is over, or the state was reset from
   * the UI), and is the handler's signal. Either way the run ends "interrupted", not failed.
   */
  async run(stop: AbortSignal, cancel: AbortSignal = stop): Promise<RunOutcome> {
    const { connector, logger, metrics, platform } = this.o;
    const started = this.now();
    const defaultWork = connector.workName(started);
    const works = new Map<string, string>();
    const openWork = async (name: string): Promise<string | null> => {
      if (!platform) return null;
      const known = works.get(name);
      if (known) return known;
      const id = await platform.workAdd(this.o.connectorId, name);
      works.set(name, id);
      logger.info({ workId: id, work: name }, 'work opened');
      return id;
    };

    let bundles = 0;
    let objects = 0;
    let reportedErrors = 0;
    /** Review before import: workbench files uploaded, drafts the bundles went into. */
    let workbenchFiles = 0;
    const drafts = new Set<string>();
    /** One expectation reported with an error on the work: shown in its errors, its counters balanced. */
    const reportOnWork = async (message: string, work: string, source: string): Promise<void> => {
      reportedErrors++;
      metrics.inc('errors_total');
      logger.warn({ work }, message);
      const workId = await openWork(work);
      if (!workId || !platform) return;
      await platform.workAddExpectations(workId, 1);
      await platform.workReportExpectation(workId, { error: message, source });
    };
    metrics.inc('runs_total');
    metrics.setState('running');
    const initialState = this.o.state.load();
    logger.info(
      { state: initialState },
      initialState ? 'import run started from the saved state' : 'import run started (first run)',
    );

    const iterator = connector
      .run({
        logger,
        signal: cancel,
        state: initialState,
        dryRun: this.o.dryRun,
        now: this.now,
        reportError: (message, options) =>
          reportOnWork(message, options?.work ?? defaultWork, options?.source ?? connector.name),
      })
      [Symbol.asyncIterator]();

    // One item per call, in a frame of its own: a loop here would keep the last bundle reachable (from the
    // suspended frame) while the handler builds the next one, so two bundles would be in memory, not one.
    const step = async (): Promise<boolean> => {
      const next = await iterator.next();
      if (next.done) return false;
      const item = next.value;
      if (item.bundle && item.bundle.objects.length > 0) {
        const work = item.work ?? defaultWork;
        const workId = await openWork(work);
        try {
          const sent = await this.o.sink.send(item.bundle as StixBundle, {
            workId,
            applicantId: this.o.connectorUserId,
            draftId: null,
            update: this.o.updateExistingData,
          });
          bundles++;
          objects += sent.objects;
          if (sent.review && 'workbenchFile' in sent.review) workbenchFiles++;
          else if (sent.review) drafts.add(sent.review.draftId);
        } catch (err) {
          // Refused whole before anything was sent, and would be on every run: reported, and the run goes on.
          if (!BundleRefusedError.is(err)) throw err;
          await reportOnWork(describe(err), work, connector.name);
        }
      }
      // Not after a cancel: a reset's fresh state must stay, and a cut step may not have sent everything.
      if (item.state !== undefined && !cancel.aborted) await this.o.state.save(item.state);
      return true;
    };

    let failure: unknown = null;
    let finished = false;
    try {
      // Each step sends one bundle and/or saves one state.
      while (!stop.aborted && !cancel.aborted) {
        if (!(await step())) {
          finished = true;
          break;
        }
      }
    } catch (err) {
      failure = err;
    } finally {
      // Let the handler close its resources (pagination cursors, sockets).
      await iterator.return?.().catch(() => undefined);
      metrics.setState('idle');
    }

    const elapsed = ((this.now().getTime() - started.getTime()) / 1000).toFixed(1);
    let outcome: RunOutcome;
    // A failure while stopping counts as one only when the step was not cut by the cancel.
    const interrupted = !finished && (stop.aborted || cancel.aborted) && (failure === null || cancel.aborted);
    if (failure !== null && !interrupted) {
      metrics.inc('errors_total');
      metrics.countVendorError(failure);
      outcome = {
        status: 'failed',
        bundles,
        objects,
        message: `Import failed after ${bundles} bundles (${objects} objects) in ${elapsed}s; the state stays at the last confirmed point: ${describe(failure)}`,
      };
      logger.error({ err: failure, bundles, objects }, outcome.message);
    } else if (interrupted) {
      const reason = stop.aborted ? stop.reason : cancel.reason;
      const abandoned = failure !== null ? '; the step in progress was abandoned and will be done again' : '';
      outcome = {
        status: 'interrupted',
        bundles,
        objects,
        message: `Import interrupted (${String(reason instanceof Error ? reason.message : (reason ?? 'shutdown'))}) after ${bundles} bundles (${objects} objects)${abandoned}`,
      };
      logger.warn(outcome.message);
    } else {
      const errors = reportedErrors > 0 ? `, ${reportedErrors} items reported in error` : '';
      // Under review, nothing is imported yet: the summary says where the bundles wait.
      const review =
        workbenchFiles > 0
          ? `; ${workbenchFiles} of them await review as import workbench files`
          : drafts.size > 0
            ? `; they await review in draft ${[...drafts].join(', ')}`
            : '';
      outcome = {
        status: 'processed',
        bundles,
        objects,
        message:
          bundles === 0
            ? `Nothing new to import (${elapsed}s${errors})`
            : `${review ? 'Sent' : 'Imported'} ${bundles} bundles, ${objects} objects in ${elapsed}s${errors}${review}`,
      };
      logger.info(outcome.message);
    }

    if (platform) {
      // A run that failed before sending anything still gets a work, so the failure shows in the UI.
      if (works.size === 0 && outcome.status === 'failed') await openWork(defaultWork).catch(() => null);
      for (const [name, workId] of works) {
        try {
          await platform.workToProcessed(workId, outcome.message, outcome.status === 'failed');
        } catch (err) {
          metrics.inc('errors_total');
          logger.error({ err, workId, work: name }, 'could not mark the work processed');
        }
      }
    }
    return outcome;
  }
}
