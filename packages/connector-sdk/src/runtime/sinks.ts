/**
 * Where bundles go. The same enrichment and import code sends through RabbitMQ (split, expectations,
 * pipelined confirmed publish), through the platform's stixBundlePush mutation, or to stdout (dry runs).
 *
 * Every sink checks the whole bundle before sending anything of it (assertSendable): a bundle that cannot
 * be sent is refused whole with a BundleRefusedError naming the object and the problem, never half sent.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { BundleRefusedError } from '../errors/index.js';
import {
  type BundlePublisher,
  buildPushMessage,
  DEFAULT_MAX_MESSAGE_BYTES,
  largestObjectBytes,
} from '../queue/index.js';
import { assertSendable, type StixBundle, splitBundleLazily } from '../stix/index.js';
import type { Metrics } from './metrics.js';

/** Review before import: the bundle becomes a workbench file, or goes into a draft (pycti's validation_mode). */
export type ValidationMode = 'workbench' | 'draft';

export interface SendMeta {
  workId: string | null;
  applicantId: string | null;
  draftId: string | null;
  update: boolean;
  /** The request's validation_mode (default workbench), used when review before import applies. */
  validationMode?: ValidationMode;
  /** The request's force_validation: review this bundle even when CONNECTOR_VALIDATE_BEFORE_IMPORT is false. */
  forceValidation?: boolean;
}

export interface SendResult {
  /** Messages (one object each) confirmed by the broker, or objects pushed through the API. */
  objects: number;
  /** Where review before import sent the bundle: a workbench file, or a draft (its id). */
  review?: { workbenchFile: string } | { draftId: string };
}

export interface BundleSink {
  send(bundle: StixBundle, meta: SendMeta): Promise<SendResult>;
}

export interface ExpectationsPort {
  workAddExpectations(workId: string, expectations: number): Promise<void>;
}

/**
 * pycti's send_stix2_bundle over AMQP: split, addExpectations before publishing, publish, await confirms.
 *
 * Each message of a split bundle is its object's JSON, then base64, then the envelope: building all of a
 * large bundle's messages at once held several copies of it. The messages are built one at a time as the
 * publisher reads them, so no more than its window of unconfirmed messages (and their chunks) exist at once.
 */
export class AmqpBundleSink implements BundleSink {
  constructor(
    private readonly platform: ExpectationsPort,
    private readonly publisher: Pick<BundlePublisher, 'publish'> & { readonly maxMessageBytes?: number },
    private readonly metrics: Metrics,
  ) {}

  async send(bundle: StixBundle, meta: SendMeta): Promise<SendResult> {
    const maxMessageBytes = this.publisher.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    assertSendable(bundle, { maxObjectBytes: largestObjectBytes(maxMessageBytes) });
    const { expectations, chunks } = splitBundleLazily(bundle);
    if (expectations === 0) {
      throw new BundleRefusedError('Nothing to import: the bundle has no object OpenCTI accepts');
    }
    // The checks and the split of a large bundle are long synchronous work: let the sockets' pending events
    // (the platform closing an idle connection, broker heartbeats) be handled before the next call.
    await yieldToEventLoop();
    const workId = meta.workId;
    if (workId)
      await this.metrics.time('platform_wait_seconds_total', () =>
        this.platform.workAddExpectations(workId, expectations),
      );
    let buildSeconds = 0;
    /** action_sequence is the chunk's 1-based position in the split bundle. */
    function* messages(): Generator<Buffer> {
      let sequence = 0;
      for (const chunk of chunks) {
        const started = performance.now();
        sequence += 1;
        const body = buildPushMessage(JSON.stringify(chunk), {
          applicantId: meta.applicantId,
          workId: meta.workId,
          draftId: meta.draftId,
          update: meta.update,
          actionSequence: sequence,
        });
        buildSeconds += (performance.now() - started) / 1000;
        yield body;
      }
    }
    const started = performance.now();
    try {
      await this.publisher.publish(messages());
    } finally {
      // The broker's share: the publish minus the time spent building the messages it read.
      this.metrics.inc('broker_wait_seconds_total', Math.max(0, (performance.now() - started) / 1000 - buildSeconds));
    }
    this.metrics.inc('bundles_sent_total', expectations);
    this.metrics.inc('records_sent_total', expectations);
    return { objects: expectations };
  }
}

export interface BundlePushPort {
  stixBundlePush(connectorId: string, bundle: string, workId: string | null): Promise<unknown>;
}

/** CONNECTOR_QUEUE_PROTOCOL=api: the whole bundle through GraphQL; the worker splits it and adds expectations. */
export class ApiBundleSink implements BundleSink {
  constructor(
    private readonly platform: BundlePushPort,
    private readonly connectorId: string,
    private readonly metrics: Metrics,
  ) {}

  async send(bundle: StixBundle, meta: SendMeta): Promise<SendResult> {
    if (bundle.objects.length === 0) throw new BundleRefusedError('Nothing to import: the bundle is empty');
    assertSendable(bundle);
    // The platform's stixBundlePush has no draft: the delivery step refuses a bundle for a draft before this.
    await this.platform.stixBundlePush(this.connectorId, JSON.stringify(bundle), meta.workId);
    this.metrics.inc('bundles_sent_total');
    this.metrics.inc('records_sent_total', bundle.objects.length);
    return { objects: bundle.objects.length };
  }
}

/** Dry runs: one JSON document per bundle on stdout (NDJSON when `compact`). */
export class StdoutBundleSink implements BundleSink {
  /** Bundles written (a count: a dry run over a large import must not keep them). */
  sent = 0;

  constructor(
    /** May return a promise (back-pressure): the next bundle waits for it. */
    private readonly write: (text: string) => void | Promise<void>,
    private readonly compact: boolean,
  ) {}

  async send(bundle: StixBundle): Promise<SendResult> {
    assertSendable(bundle);
    this.sent++;
    await this.write(`${this.compact ? JSON.stringify(bundle) : JSON.stringify(bundle, null, 2)}\n`);
    return { objects: bundle.objects.length };
  }
}
