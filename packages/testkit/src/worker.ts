/**
 * A minimal OpenCTI worker (platform.md c). For every registered connector it consumes `push_<id>` with
 * prefetch 1 and, per message:
 *
 * - body not JSON, content not a base64 JSON bundle, or a bundle without objects → nack without requeue and
 *   no work report (the real behaviour that leaves a work "in progress" forever);
 * - its work no longer alive → ack and drop (the worker's WORK_NOT_ALIVE handling);
 * - one object (or `no_split`) → record each object and reportExpectation on its work;
 * - several objects (a whole bundle, e.g. from stixBundlePush) → addExpectations(n), then record and report
 *   each object (the real worker re-splits and re-queues; the observable outcome on the work is the same);
 * - every recorded object is imported (`ingest`: read as pycti's importer reads it, checked against STIX 2.1)
 *   before its expectation is reported.
 *
 * For connectors registered with a `listen_callback_uri` it also consumes `listen_<id>` (prefetch 1, one
 * message at a time) and POSTs each raw message to that URI with the connector's token, as the platform
 * worker's ListenHandler does (opencti-worker listen_handler.py): 202 acks; any other status, a connection
 * error or a timeout requeues the message after a pause (the real worker's is 10 to 30 s).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Channel, ConsumeMessage } from 'amqplib';
import { type IngestedObject, type PushMessageRecord, parseJsonObject, type Recorder } from './records.js';
import type { Topology } from './topology.js';
import type { WorkStore } from './works.js';

export interface WorkerOptions {
  topology: Topology;
  works: WorkStore;
  recorder: Recorder;
  now: () => Date;
  changed: () => void;
  /** The Bearer token sent to HTTP-listen callbacks (the connector user's API token). */
  callbackToken: string;
  userAgent: string;
  /** Delay before requeueing a listen message whose callback could not be reached. */
  callbackRetryMs: number;
  /** Imports one ingested object (the platform's knowledge and STIX checks), before its work is reported. */
  ingest(
    object: Record<string, unknown>,
    context: { connectorId: string; workId: string | null; draftId: string | null },
  ): void;
}

/** A delivery to a connector's HTTP-listen callback. */
export interface CallbackDelivery {
  at: string;
  connectorId: string;
  uri: string;
  /** The HTTP status, or undefined when the connection failed. */
  status: number | undefined;
  error?: string;
  outcome: 'ack' | 'requeue';
}

interface Consumer {
  channel: Channel;
  consumerTag: string | undefined;
}

interface Watch {
  callbackUri: string | null;
}

export class Worker {
  readonly #options: WorkerOptions;
  readonly #consumers = new Map<string, Consumer>();
  readonly #watched = new Map<string, Watch>();
  /** Pending requeue delays, released at once by close(). */
  readonly #delays = new Set<() => void>();
  readonly callbacks: CallbackDelivery[] = [];
  #paused = false;
  #closed = false;

  constructor(options: WorkerOptions) {
    this.#options = options;
  }

  /** True while the worker consumes (not paused, not closed). */
  get running(): boolean {
    return !this.#paused && !this.#closed;
  }

  /** Starts (or restarts, after a queue was deleted) the consumers of a connector's queues. */
  async watch(connectorId: string, callbackUri: string | null): Promise<void> {
    const previous = this.#watched.get(connectorId);
    this.#watched.set(connectorId, { callbackUri });
    if (previous !== undefined && previous.callbackUri !== callbackUri) {
      await this.#stopConsumer(this.#options.topology.names(connectorId).listen);
    }
    if (this.running) await this.#startConsumers(connectorId);
  }

  /** Stops consuming a connector's queues and forgets it. */
  async unwatch(connectorId: string): Promise<void> {
    this.#watched.delete(connectorId);
    const names = this.#options.topology.names(connectorId);
    await this.#stopConsumer(names.push);
    await this.#stopConsumer(names.listen);
  }

  /** Stops consuming; unacknowledged messages go back to their queues. */
  async pause(): Promise<void> {
    this.#paused = true;
    await Promise.all([...this.#consumers.keys()].map((queue) => this.#stopConsumer(queue)));
  }

  async resume(): Promise<void> {
    if (this.#closed) return;
    this.#paused = false;
    for (const connectorId of this.#watched.keys()) await this.#startConsumers(connectorId);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const release of [...this.#delays]) release();
    await Promise.all([...this.#consumers.keys()].map((queue) => this.#stopConsumer(queue)));
  }

  async #startConsumers(connectorId: string): Promise<void> {
    const names = this.#options.topology.names(connectorId);
    await this.#startConsumer(names.push, (channel, msg) => this.#handlePush(connectorId, names.push, channel, msg));
    const callbackUri = this.#watched.get(connectorId)?.callbackUri ?? null;
    if (callbackUri !== null) {
      await this.#startConsumer(names.listen, (channel, msg) =>
        this.#forwardToCallback(connectorId, callbackUri, channel, msg),
      );
    }
  }

  async #startConsumer(queue: string, handle: (channel: Channel, msg: ConsumeMessage) => Promise<void>): Promise<void> {
    if (this.#consumers.has(queue)) return;
    const channel = await this.#options.topology.model.createChannel();
    channel.on('error', () => {});
    const consumer: Consumer = { channel, consumerTag: undefined };
    this.#consumers.set(queue, consumer);
    channel.on('close', () => {
      if (this.#consumers.get(queue) === consumer) this.#consumers.delete(queue);
    });
    try {
      await channel.prefetch(1);
      const reply = await channel.consume(queue, (msg) => {
        if (msg === null) {
          // The broker cancelled the consumer (queue deleted): the next ping re-asserts it and re-watches.
          void this.#stopConsumer(queue);
          return;
        }
        void handle(channel, msg).catch(() => {
          safely(() => channel.nack(msg, false, false));
        });
      });
      consumer.consumerTag = reply.consumerTag;
    } catch {
      // The queue does not exist (yet): the next register or ping asserts it and retries.
      await this.#stopConsumer(queue);
    }
  }

  async #stopConsumer(queue: string): Promise<void> {
    const consumer = this.#consumers.get(queue);
    if (consumer === undefined) return;
    this.#consumers.delete(queue);
    await consumer.channel.close().catch(() => {});
  }

  async #handlePush(connectorId: string, queue: string, channel: Channel, msg: ConsumeMessage): Promise<void> {
    const { recorder, works, now, changed } = this.#options;
    const raw = msg.content.toString('utf8');
    const envelope = parseJsonObject(raw);
    const record: PushMessageRecord = {
      seq: recorder.nextSeq(),
      at: now().toISOString(),
      connectorId,
      queue,
      envelope,
      bundle: null,
      outcome: 'ingested',
      objectCount: 0,
      properties: {
        deliveryMode: msg.properties.deliveryMode as number | undefined,
        contentEncoding: msg.properties.contentEncoding as string | undefined,
        contentType: msg.properties.contentType as string | undefined,
        headers: msg.properties.headers as Record<string, unknown> | undefined,
      },
      bodyBytes: msg.content.length,
    };
    const reject = (reason: string): void => {
      record.outcome = 'rejected';
      record.reason = reason;
      recorder.pushMessages.push(record);
      changed();
      safely(() => channel.nack(msg, false, false));
    };
    if (envelope === null) {
      record.rawBody = raw;
      reject('the message is not JSON');
      return;
    }
    const type = envelope.type ?? 'bundle';
    if (type !== 'bundle') {
      reject(`message type "${String(type)}" is not handled by the testkit worker`);
      return;
    }
    const bundle = typeof envelope.content === 'string' ? decodeBundle(envelope.content) : null;
    record.bundle = bundle;
    if (bundle === null) {
      reject('content is not base64 of a JSON object');
      return;
    }
    const objects = Array.isArray(bundle.objects) ? (bundle.objects as unknown[]) : [];
    if (objects.length === 0) {
      reject('the bundle has no objects');
      return;
    }
    const workId = typeof envelope.work_id === 'string' && envelope.work_id !== '' ? envelope.work_id : null;
    if (workId !== null && !works.isAlive(workId)) {
      record.outcome = 'dropped';
      record.reason = 'WORK_NOT_ALIVE';
      recorder.pushMessages.push(record);
      changed();
      safely(() => channel.ack(msg));
      return;
    }
    if (workId !== null && objects.length > 1 && envelope.no_split !== true) {
      works.addExpectations(workId, objects.length);
    }
    const ingested: IngestedObject[] = [];
    for (const object of objects) {
      if (typeof object !== 'object' || object === null || Array.isArray(object)) {
        if (workId !== null) {
          works.reportExpectation(workId, { error: 'Incompatible element in bundle', source: JSON.stringify(object) });
        }
        continue;
      }
      ingested.push({
        seq: recorder.nextSeq(),
        at: now().toISOString(),
        connectorId,
        workId,
        applicantId: typeof envelope.applicant_id === 'string' ? envelope.applicant_id : null,
        draftId: typeof envelope.draft_id === 'string' && envelope.draft_id !== '' ? envelope.draft_id : null,
        update: envelope.update === true,
        object: object as Record<string, unknown>,
      });
    }
    record.objectCount = ingested.length;
    // Record and import before reporting, so a test that waits for the work to complete finds them.
    recorder.pushMessages.push(record);
    recorder.objects.push(...ingested);
    for (const item of ingested) this.#options.ingest(item.object, { connectorId, workId, draftId: item.draftId });
    for (let i = 0; i < ingested.length; i += 1) {
      if (workId !== null) works.reportExpectation(workId, null);
    }
    changed();
    safely(() => channel.ack(msg));
  }

  #delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.#delays.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      timer.unref();
      this.#delays.add(release);
    });
  }

  async #forwardToCallback(connectorId: string, uri: string, channel: Channel, msg: ConsumeMessage): Promise<void> {
    const { now, changed, callbackToken, userAgent, callbackRetryMs } = this.#options;
    const delivery: CallbackDelivery = { at: now().toISOString(), connectorId, uri, status: undefined, outcome: 'ack' };
    try {
      const status = await postCallback(uri, msg.content, {
        'User-Agent': userAgent,
        Authorization: `Bearer ${callbackToken}`,
      });
      delivery.status = status;
      if (status !== 202) throw new Error(`the callback answered ${status}`);
      safely(() => channel.ack(msg));
    } catch (err) {
      delivery.outcome = 'requeue';
      delivery.error = err instanceof Error ? err.message : String(err);
      await this.#delay(callbackRetryMs);
      safely(() => channel.nack(msg, false, true));
    }
    this.callbacks.push(delivery);
    changed();
  }
}

/**
 * POSTs a listen message as the worker's `requests.post(uri, data=body, timeout=300)` does: TLS certificates
 * are not verified (WORKER_LISTEN_API_SSL_VERIFY defaults to false). Resolves with the status.
 */
function postCallback(uri: string, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const url = new URL(uri);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(body.length) },
        timeout: 300_000,
        ...(url.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('Request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

function decodeBundle(content: string): Record<string, unknown> | null {
  return parseJsonObject(Buffer.from(content, 'base64').toString('utf8'));
}

// Acking on a channel that closed meanwhile (pause, close) throws; the broker already requeued the message.
function safely(action: () => void): void {
  try {
    action();
  } catch {
    // nothing to do: see above
  }
}
