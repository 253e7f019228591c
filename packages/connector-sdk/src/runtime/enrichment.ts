/**
 * One listen-queue message, end to end (docs/architecture.md, "The flow"):
 * parse → work received → read the entity → scope → TLP gate → enrich → share with the entity's
 * organisations → send → work processed → ack.
 *
 * The message is acked only once its outcome is recorded. Failures of the enrichment itself (vendor
 * errors, TLP refusal, bad input, a bundle that cannot be sent) end the work in error and are acked. When
 * the outcome cannot be recorded, the platform is asked whether it answers at all (a read of the work):
 * - it does not, or the broker refused the bundle: an outage, not a poison message. The message goes back
 *   to the queue after a growing pause (up to 30 s), for as long as the outage lasts;
 * - it does: what fails is this message. It is requeued once; a redelivered message that fails again is
 *   reported on its work as best it can be and acked, so nothing loops (at most two vendor calls).
 * A redelivered message whose work is already processed, or is still being processed by this process,
 * is not run again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BundleRefusedError, CtiError, InputError, PlatformError, TlpRefusedError } from '../errors/index.js';
import { type Logger, redactString } from '../log/index.js';
import type { PlaybookStepVariables } from '../opencti/index.js';
import {
  assertSendable,
  grantedOrganizations,
  maxTlpAllows,
  type StixBundle,
  shareWithOrganizations,
  unknownTlpMarkings,
} from '../stix/index.js';
import type { BoundEnrichment } from './bind.js';
import type { EnrichmentEntity } from './define.js';
import { toEnrichmentEntity } from './entity.js';
import { decodeListenMessage, type ListenMessage, workIdOf } from './listen-message.js';
import type { Metrics } from './metrics.js';
import type { BundleSink } from './sinks.js';

export interface EnrichmentPlatform {
  workToReceived(workId: string, message: string): Promise<unknown>;
  workToProcessed(workId: string, message: string, inError: boolean): Promise<unknown>;
  workPing(workId: string): Promise<unknown>;
  /** The work's status, to recognise a redelivered message whose outcome is already recorded. */
  workStatus?(workId: string): Promise<{ status: string; processedTime: string | null } | null>;
  /** A read that succeeds whenever the platform is up (for messages without a work). */
  health?(): Promise<unknown>;
  /**
   * The GraphQL form of the entity (with objectMarking), read as the connector's own user (never as an
   * applicant a message names), or null when the connector cannot see it.
   */
  readEntity(id: string, opts: { draftId: string | null }): Promise<Record<string, unknown> | null>;
  playbookStepExecution(variables: PlaybookStepVariables): Promise<unknown>;
}

export interface EnrichmentProcessorOptions {
  /** The enrichment, its settings and vendor client bound in; its maxTlp gates every entity. */
  connector: BoundEnrichment;
  /** CONNECTOR_CONFIDENCE_LEVEL, handed to the enrichment. */
  confidence: number | undefined;
  /** CONNECTOR_UPDATE_EXISTING_DATA: asks the worker to update what the platform already holds. */
  updateExistingData: boolean;
  platform: EnrichmentPlatform;
  sink: BundleSink;
  logger: Logger;
  metrics: Metrics;
  scope: readonly string[];
  /** The connector user (registration's connector_user_id): the applicant when the message names none. */
  connectorUserId: string | null;
  /**
   * Fires when in-flight handlers must stop: at shutdown, once the grace period for finishing them has
   * passed (the consumer has requeued their messages by then).
   */
  shutdown: AbortSignal;
  /** How often a long enrichment pings its work (pycti: about 5 minutes). */
  workPingIntervalMs?: number;
  /** First pause before a message whose outcome could not be recorded goes back to the queue (doubles each time). */
  outageBackoffMs?: number;
  now?: () => Date;
}

export type Outcome = 'ack' | 'requeue';

const PLATFORM = 'platform_wait_seconds_total';
/** Longest wait before a message whose outcome could not be recorded goes back to the queue. */
const OUTAGE_MAX_WAIT_MS = 30_000;

class ShutdownError extends Error {}

export class EnrichmentProcessor {
  private readonly now: () => Date;
  /** Runs in progress, by work id. */
  private readonly running = new Map<string, Promise<void>>();
  /** Consecutive outcomes that could not be recorded because the platform or the broker was unreachable. */
  private outageFailures = 0;

  constructor(private readonly o: EnrichmentProcessorOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** Handles one delivery; the consumer acks or requeues according to the result. */
  async handle(body: Buffer, redelivered: boolean): Promise<Outcome> {
    const { logger, metrics } = this.o;
    let msg: ListenMessage;
    try {
      msg = decodeListenMessage(body);
    } catch (err) {
      const message = (err as Error).message;
      metrics.inc('errors_total');
      metrics.inc('enrichments_total', 1, { outcome: 'malformed' });
      const workId = workIdOf(safeJson(body));
      logger.error({ workId, bytes: body.length }, message);
      if (workId) await this.report(workId, message, true);
      return 'ack';
    }

    const log = logger.child({ workId: msg.workId, entityId: msg.entityId });
    const workId = msg.workId;
    // A message for a work this process is still handling (redelivered because its channel closed before
    // the ack) waits for that run instead of running alongside it, then is checked like any redelivery.
    const earlier = workId ? this.running.get(workId) : undefined;
    if (earlier) {
      log.info('this work is already being processed here: waiting for that run before deciding');
      await earlier;
    }
    if ((redelivered || earlier) && workId && (await this.alreadyProcessed(workId, log))) {
      metrics.inc('enrichments_total', 1, { outcome: 'duplicate' });
      return 'ack';
    }
    const run = this.run(msg, log, redelivered);
    if (!workId) return run;
    const tracked = run.then(
      () => undefined,
      () => undefined,
    );
    this.running.set(workId, tracked);
    try {
      return await run;
    } finally {
      if (this.running.get(workId) === tracked) this.running.delete(workId);
    }
  }

  private async run(msg: ListenMessage, log: Logger, redelivered: boolean): Promise<Outcome> {
    const { metrics } = this.o;
    const started = performance.now();
    metrics.inc('runs_total');
    metrics.setState('running');
    const pinger =
      msg.workId !== null
        ? setInterval(() => {
            this.o.platform
              .workPing(msg.workId as string)
              .catch((e: unknown) => log.debug({ err: e }, 'work ping failed'));
          }, this.o.workPingIntervalMs ?? 300_000)
        : null;
    pinger?.unref();
    try {
      const outcome = await this.process(msg, log);
      metrics.inc('enrichments_total', 1, { outcome: outcome.inError ? 'error' : 'processed' });
      if (outcome.inError) metrics.inc('errors_total');
      if (msg.workId) {
        const workId = msg.workId;
        await metrics.time(PLATFORM, () => this.o.platform.workToProcessed(workId, outcome.message, outcome.inError));
      }
      this.outageFailures = 0;
      (outcome.inError ? log.warn.bind(log) : log.info.bind(log))(
        { durationMs: outcome.durationMs, objects: outcome.objects },
        outcome.message,
      );
      return 'ack';
    } catch (err) {
      if (err instanceof ShutdownError || this.o.shutdown.aborted) {
        log.info('shutting down: the message goes back to the queue');
        return 'requeue';
      }
      // The outcome could not be recorded (platform or broker unreachable after retries).
      metrics.inc('errors_total');
      const message = describe(err);
      if (err instanceof PlatformError && err.retryable && (await this.isOutage(err, msg.workId, log))) {
        // An outage, not a poison message: keep the message until the platform answers again, backing off.
        this.outageFailures++;
        const waitMs = Math.min(OUTAGE_MAX_WAIT_MS, (this.o.outageBackoffMs ?? 1000) * 2 ** (this.outageFailures - 1));
        log.error(
          { err, attempt: this.outageFailures, retryInMs: waitMs },
          `could not record the outcome, the message goes back to the queue in ${Math.round(waitMs / 1000)} s: ${message}`,
        );
        await sleep(waitMs, undefined, { signal: this.o.shutdown }).catch(() => undefined);
        return 'requeue';
      }
      // The platform answers, yet this message's outcome cannot be recorded: a second chance, then dropped.
      this.outageFailures = 0;
      if (!redelivered) {
        log.error({ err }, `could not record the outcome, the message is requeued: ${message}`);
        return 'requeue';
      }
      log.error({ err }, `could not record the outcome of a redelivered message, giving up: ${message}`);
      if (msg.workId) await this.report(msg.workId, message, true);
      if (msg.playbook) await this.answerPlaybook(msg, null, log);
      return 'ack';
    } finally {
      if (pinger) clearInterval(pinger);
      metrics.inc('enrichment_seconds_total', (performance.now() - started) / 1000);
      metrics.setState('idle');
    }
  }

  private async process(
    msg: ListenMessage,
    log: Logger,
  ): Promise<{ message: string; inError: boolean; objects: number; durationMs: number }> {
    const started = Date.now();
    const { platform, connector } = this.o;
    const done = (message: string, inError: boolean, objects = 0) => ({
      message,
      inError,
      objects,
      durationMs: Date.now() - started,
    });
    // The work is marked received while the entity is read: two independent calls, one round trip of waiting.
    const workId = msg.workId;
    const [, read] = await this.o.metrics.time(PLATFORM, () =>
      Promise.all([
        workId ? platform.workToReceived(workId, 'Connector ready to process the operation') : undefined,
        this.resolveEntity(msg).then(
          (entity) => ({ entity, error: null }),
          (error: unknown) => ({ entity: null, error }),
        ),
      ]),
    );
    if (read.entity === null) {
      const err = read.error;
      if (err instanceof PlatformError && err.retryable) throw err;
      if (msg.playbook) await this.answerPlaybook(msg, null, log);
      return done(describe(err), true);
    }
    const entity: EnrichmentEntity = read.entity;

    if (!this.o.scope.some((s) => s.toLowerCase() === entity.entityType.toLowerCase())) {
      if (msg.playbook) await this.answerPlaybook(msg, null, log);
      return done(`Skipped: ${entity.entityType} is not in the connector's scope (${this.o.scope.join(', ')})`, false);
    }

    if (!maxTlpAllows(connector.maxTlp, entity.tlp)) {
      if (msg.playbook) await this.answerPlaybook(msg, null, log);
      return done(new TlpRefusedError(entity.tlp, connector.maxTlp, unknownTlpMarkings(entity.markings)).message, true);
    }

    const controller = new AbortController();
    const onShutdown = () => controller.abort(new ShutdownError('shutdown'));
    this.o.shutdown.addEventListener('abort', onShutdown, { once: true });
    let bundle: StixBundle | null | undefined;
    let summary: string | undefined;
    try {
      const result = await connector.enrich(entity, {
        logger: log,
        signal: controller.signal,
        confidence: this.o.confidence,
        playbook: msg.playbook !== null,
        auto: msg.playbook === null && msg.mode === 'auto',
        stixObjects: msg.stixObjects ?? [],
        now: this.now,
      });
      bundle = result.bundle;
      summary = result.message;
    } catch (err) {
      if (this.o.shutdown.aborted) throw new ShutdownError('shutdown');
      log.debug({ err }, 'enrichment failed');
      this.o.metrics.countVendorError(err);
      if (msg.playbook) await this.answerPlaybook(msg, null, log);
      return done(describe(err), true);
    } finally {
      this.o.shutdown.removeEventListener('abort', onShutdown);
    }

    // Shared with the entity's organisations, as pycti does for every object an enrichment sends back: the
    // platform's read has them (a playbook's bundle, for a playbook step), never the listen message.
    const organizations = grantedOrganizations(entity.stix);
    if (bundle && organizations.length > 0) bundle = shareWithOrganizations(bundle, organizations);
    const objects = bundle?.objects.length ?? 0;
    // A bundle that cannot be sent is refused whole, before anything of it leaves: an error on the work.
    try {
      if (msg.playbook) {
        if (bundle) assertSendable(bundle);
        await this.answerPlaybook(msg, bundle ?? null, log, organizations);
        return done(summary ?? `Playbook step answered with ${objects} objects`, false, objects);
      }
      if (bundle && objects > 0) {
        await this.o.sink.send(bundle, {
          workId: msg.workId,
          applicantId: msg.applicantId ?? this.o.connectorUserId,
          draftId: msg.draftId,
          update: this.o.updateExistingData,
          ...(msg.validationMode ? { validationMode: msg.validationMode } : {}),
          forceValidation: msg.forceValidation,
        });
      }
    } catch (err) {
      if (!BundleRefusedError.is(err)) throw err;
      if (msg.playbook) await this.answerPlaybook(msg, null, log);
      return done(describe(err), true);
    }
    return done(summary ?? defaultSummary(entity, bundle ?? null), false, objects);
  }

  /**
   * The entity and its markings as the platform has them, always read, as pycti does: the TLP gate never
   * rests on what a message says (anyone holding the broker credentials can publish one). The read is the
   * connector's own (an applicant named in the message could see more), in the message's draft.
   */
  private async resolveEntity(msg: ListenMessage): Promise<EnrichmentEntity> {
    const raw = await this.o.platform.readEntity(msg.entityId, { draftId: msg.draftId });
    if (!raw) {
      throw new InputError(
        `Unable to read the entity ${msg.entityId}: it does not exist or the connector's user cannot access it`,
      );
    }
    return toEnrichmentEntity(raw, msg.stixEntity, { objects: msg.stixObjects ?? [], playbook: msg.playbook !== null });
  }

  /**
   * A playbook step must always be answered, or the playbook stops (platform.md top issue 10). The answer
   * is the incoming bundle with the enrichment's objects merged in (or unchanged when nothing was added).
   */
  private async answerPlaybook(
    msg: ListenMessage,
    result: StixBundle | null,
    log: Logger,
    organizations: readonly string[] = [],
  ): Promise<void> {
    const playbook = msg.playbook;
    if (!playbook) return;
    const previous = msg.playbookBundle ?? {
      type: 'bundle',
      id: 'bundle--00000000-0000-4000-8000-000000000000',
      objects: [],
    };
    const merged = new Map<string, Record<string, unknown>>();
    for (const o of (previous.objects as Record<string, unknown>[] | undefined) ?? []) merged.set(String(o.id), o);
    for (const o of result?.objects ?? []) merged.set(String(o.id), o as Record<string, unknown>);
    let bundle = { ...previous, objects: [...merged.values()] };
    // pycti shares the whole bundle it answers with (the playbook's objects and the enrichment's).
    if (result !== null && organizations.length > 0) {
      bundle = shareWithOrganizations(bundle as StixBundle, organizations) as typeof bundle;
    }
    try {
      await this.o.platform.playbookStepExecution({
        execution_id: playbook.execution_id,
        event_id: playbook.event_id,
        execution_start: this.now()
          .toISOString()
          .replace(/\.\d{3}Z$/, '+00:00'),
        data_instance_id: playbook.data_instance_id,
        playbook_id: playbook.playbook_id,
        previous_step_id: playbook.previous_step_id ?? '',
        step_id: playbook.step_id,
        previous_bundle: JSON.stringify(previous),
        bundle: JSON.stringify(bundle),
      });
    } catch (err) {
      log.error({ err }, 'could not answer the playbook step');
      throw err;
    }
  }

  /**
   * Whether a retryable failure to record an outcome is an outage rather than this message's own: the broker
   * refusing the bundle (a full queue, a lost connection) always is; for OpenCTI, when it does not answer a
   * read now either (the message's work, or the health check without one). Unknown (no way to ask) counts
   * as an outage, so that a message is never dropped for want of a probe.
   */
  private async isOutage(err: PlatformError, workId: string | null, log: Logger): Promise<boolean> {
    if (err.operation === 'amqp') return true;
    const { platform } = this.o;
    const probe = workId && platform.workStatus ? () => platform.workStatus?.(workId) : platform.health;
    if (!probe) return true;
    try {
      await probe.call(platform);
      return false;
    } catch (probeError) {
      log.debug({ err: probeError }, 'the platform does not answer either: an outage');
      return true;
    }
  }

  /**
   * A message comes back redelivered when its ack was lost (a broker connection dropped after the work was
   * processed). Its work then already has a processed time: processing it again would report it twice.
   */
  private async alreadyProcessed(workId: string, log: Logger): Promise<boolean> {
    if (!this.o.platform.workStatus) return false;
    try {
      const work = await this.o.platform.workStatus(workId);
      if (work?.processedTime) {
        log.info(
          'redelivered message already processed (its acknowledgement was lost): acknowledged without running again',
        );
        return true;
      }
    } catch (err) {
      log.debug({ err }, 'could not read the work status of a redelivered message: processing it again');
    }
    return false;
  }

  /**
   * A message that was accepted but cannot be finished and cannot go back to a queue (HTTP listen: the
   * platform's worker acked it on the 202): its work ends in error saying so, and a playbook step is
   * answered with its bundle unchanged, so that the analyst sees it and the playbook goes on.
   */
  async abandon(body: Buffer, reason: string): Promise<void> {
    let msg: ListenMessage;
    try {
      msg = decodeListenMessage(body);
    } catch {
      return; // a malformed message was already reported when it was handled
    }
    const log = this.o.logger.child({ workId: msg.workId, entityId: msg.entityId });
    log.warn(reason);
    if (msg.workId) await this.report(msg.workId, reason, true);
    if (msg.playbook) await this.answerPlaybook(msg, null, log).catch(() => undefined);
  }

  /** Best-effort error report on a work; a failure is logged, never thrown. */
  private async report(workId: string, message: string, inError: boolean): Promise<void> {
    try {
      await this.o.platform.workToProcessed(workId, message, inError);
    } catch (err) {
      this.o.logger.error({ err, workId }, 'could not report on the work');
    }
  }
}

function defaultSummary(entity: EnrichmentEntity, bundle: StixBundle | null): string {
  const subject = entity.value ?? entity.id;
  if (!bundle || bundle.objects.length === 0) return `No data for ${subject}`;
  const counts = new Map<string, number>();
  for (const o of bundle.objects) counts.set(String(o.type), (counts.get(String(o.type)) ?? 0) + 1);
  const types = [...counts.entries()].map(([t, n]) => `${n} ${t}`).join(', ');
  return `Enriched ${subject}: ${bundle.objects.length} objects sent (${types})`;
}

/** The error as one line for a work: redacted, because work messages are shown in the OpenCTI UI. */
export function describe(err: unknown): string {
  if (err instanceof CtiError) return redactString(err.message);
  if (err instanceof Error) return redactString(`${err.name}: ${err.message}`);
  return redactString(String(err));
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}
