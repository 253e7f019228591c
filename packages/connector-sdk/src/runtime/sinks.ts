/**
 * Where bundles go. The same enrichment and import code sends through RabbitMQ (split, expectations,
 * pipelined confirmed publish), through the platform's stixBundlePush mutation, or to stdout (dry runs).
 */
import { BundleError } from '../errors/index.js';
import type { BundlePublisher } from '../queue/index.js';
import { buildPushMessage } from '../queue/index.js';
import { type StixBundle, splitBundle } from '../stix/index.js';
import type { Metrics } from './metrics.js';

export interface SendMeta {
  workId: string | null;
  applicantId: string | null;
  draftId: string | null;
  update: boolean;
}

export interface SendResult {
  /** Messages (one object each) confirmed by the broker, or objects pushed through the API. */
  objects: number;
}

export interface BundleSink {
  send(bundle: StixBundle, meta: SendMeta): Promise<SendResult>;
}

export interface ExpectationsPort {
  workAddExpectations(workId: string, expectations: number): Promise<void>;
}

/**
 * Push messages built ahead of the broker's confirms. Each message of a split bundle is its object's JSON,
 * then base64, then the envelope: building all of a large bundle's messages at once held several copies of
 * it. Batches of this size go out one after the other, the next built while the broker confirms the previous.
 */
export const PUSH_BATCH_MESSAGES = 500;

/** pycti's send_stix2_bundle over AMQP: split, addExpectations before publishing, publish, await confirms. */
export class AmqpBundleSink implements BundleSink {
  constructor(
    private readonly platform: ExpectationsPort,
    private readonly publisher: Pick<BundlePublisher, 'publish'>,
    private readonly metrics: Metrics,
    private readonly batchMessages = PUSH_BATCH_MESSAGES,
  ) {}

  async send(bundle: StixBundle, meta: SendMeta): Promise<SendResult> {
    const { chunks } = splitBundle(bundle);
    if (chunks.length === 0) throw new BundleError('Nothing to import: the bundle has no object OpenCTI accepts');
    const workId = meta.workId;
    if (workId)
      await this.metrics.time('platform_wait_seconds_total', () =>
        this.platform.workAddExpectations(workId, chunks.length),
      );
    const size = Math.max(1, Math.floor(this.batchMessages));
    // At most two batches exist at once: the one being confirmed and the one being handed over. Their order
    // on the queue is publish() order, so action_sequence stays the chunk's position in the split bundle.
    let confirming: Promise<void> | null = null;
    for (let start = 0; start < chunks.length; start += size) {
      const bodies = chunks.slice(start, start + size).map((chunk, i) =>
        buildPushMessage(JSON.stringify(chunk), {
          applicantId: meta.applicantId,
          workId: meta.workId,
          draftId: meta.draftId,
          update: meta.update,
          actionSequence: start + i + 1,
        }),
      );
      const published = this.publisher.publish(bodies);
      // If the previous batch fails, this one's failure is not the one reported (and is not left unhandled).
      published.catch(() => undefined);
      const previous = confirming;
      if (previous) await this.metrics.time('broker_wait_seconds_total', () => previous);
      confirming = published;
    }
    const last = confirming;
    if (last) await this.metrics.time('broker_wait_seconds_total', () => last);
    this.metrics.inc('bundles_sent_total', chunks.length);
    this.metrics.inc('records_sent_total', chunks.length);
    return { objects: chunks.length };
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
    if (bundle.objects.length === 0) throw new BundleError('Nothing to import: the bundle is empty');
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
    this.sent++;
    await this.write(`${this.compact ? JSON.stringify(bundle) : JSON.stringify(bundle, null, 2)}\n`);
    return { objects: bundle.objects.length };
  }
}
