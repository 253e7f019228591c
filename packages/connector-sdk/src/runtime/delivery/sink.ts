/**
 * Where a bundle goes, as pycti's send_stix2_bundle decides (pycti 7, opencti_connector_helper.py;
 * reference/protocol-notes.md#review-before-import):
 *
 * 1. Review before import, when CONNECTOR_VALIDATE_BEFORE_IMPORT is true or the request says
 *    `force_validation`, and the bundle belongs to a work (its file is named `<work id>.json`):
 *    - `workbench` (the request's `validation_mode`, else CONNECTOR_VALIDATION_MODE, default workbench):
 *      the bundle is uploaded as a pending file of the import workbench (`uploadPending`) and goes nowhere
 *      else: no queue message, no directory file;
 *    - `draft`: unless the request already runs in a draft, a draft named `<work id>.json` is created
 *      (`draftWorkspaceAdd`) and recorded on the work (`addDraftContext`); the bundle then goes on, every
 *      message carrying that draft's id.
 * 2. CONNECTOR_SEND_TO_DIRECTORY: a file in the directory (directory.ts).
 * 3. CONNECTOR_SEND_TO_QUEUE (default true): RabbitMQ or the API, as CONNECTOR_QUEUE_PROTOCOL says.
 *
 * Where pycti loses data this does otherwise: an import run sends many bundles under one work; pycti
 * uploads each as the same `<work id>.json` (one file replacing the other in the workbench) and creates a
 * new draft for each. Here the later bundles of a work are `<work id>_2.json`, `_3`… and go into the draft
 * the work's first bundle created.
 */
import { BundleRefusedError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { UploadFile } from '../../opencti/index.js';
import { assertSendable, type StixBundle } from '../../stix/index.js';
import type { BundleSink, SendMeta, SendResult, ValidationMode } from '../sinks.js';
import type { DirectoryOutput } from './directory.js';

/** The platform calls review before import needs. */
export interface ReviewPort {
  uploadPending(
    file: UploadFile,
    options: { entityId: string | null; fileMarkings: readonly string[] },
  ): Promise<{ id: string; name: string }>;
  draftWorkspaceAdd(name: string, entityId: string | null): Promise<string>;
  workAddDraftContext(workId: string, draftId: string): Promise<void>;
}

export interface DeliveryOptions {
  /** RabbitMQ or the API; null when CONNECTOR_SEND_TO_QUEUE is false. */
  queue: BundleSink | null;
  /**
   * Whether the queue can send into a draft: RabbitMQ messages carry `draft_id`; the platform's
   * `stixBundlePush` (CONNECTOR_QUEUE_PROTOCOL=api) has no draft and imports into the live knowledge.
   */
  queueCarriesDrafts: boolean;
  review: ReviewPort;
  /** CONNECTOR_VALIDATE_BEFORE_IMPORT. */
  validateBeforeImport: boolean;
  /** CONNECTOR_VALIDATION_MODE: the mode when the request does not say (an import never does). */
  defaultValidationMode: ValidationMode;
  /** CONNECTOR_SEND_TO_DIRECTORY with its path; null when off. */
  directory: DirectoryOutput | null;
  logger: Logger;
}

/** Works remembered for their draft and file count: an import has a handful of works at a time. */
const REMEMBERED_WORKS = 256;

export class DeliverySink implements BundleSink {
  private readonly drafts = new Map<string, string>();
  private readonly uploads = new Map<string, number>();

  constructor(private readonly o: DeliveryOptions) {}

  async send(bundle: StixBundle, meta: SendMeta): Promise<SendResult> {
    const objects = bundle.objects.length;
    const { workId } = meta;
    const reviewed = workId !== null && (this.o.validateBeforeImport || meta.forceValidation === true);
    // The whole bundle is checked before any of it leaves, whatever the destination. The queue sinks check it
    // themselves: checked here too only when something else receives it first (a long pass on a large bundle).
    if (reviewed || this.o.directory !== null || this.o.queue === null) assertSendable(bundle);
    let draftId = meta.draftId;
    if (workId && reviewed) {
      if ((meta.validationMode ?? this.o.defaultValidationMode) === 'workbench') {
        const name = this.nextFileName(workId);
        const file = await this.o.review.uploadPending(
          { name, content: JSON.stringify(bundle), mimeType: 'application/json' },
          { entityId: null, fileMarkings: [] },
        );
        this.o.logger.info({ workId, file: file.name, objects }, 'bundle uploaded to the import workbench for review');
        return { objects, review: { workbenchFile: file.name } };
      }
      if (!draftId) {
        this.refuseDraftWithoutCarrier(null);
        draftId = await this.draftOf(workId);
      }
    }
    if (draftId) this.refuseDraftWithoutCarrier(draftId);
    if (this.o.directory) await this.o.directory.write(bundle, meta);
    const sent = this.o.queue ? await this.o.queue.send(bundle, { ...meta, draftId }) : { objects };
    return draftId && draftId !== meta.draftId ? { ...sent, review: { draftId } } : sent;
  }

  /**
   * A bundle meant for a draft must not be imported into the live knowledge instead, which is what the API
   * protocol would do (pycti does it): refused whole, before a draft is created for nothing.
   */
  private refuseDraftWithoutCarrier(draftId: string | null): void {
    if (this.o.queue === null || this.o.queueCarriesDrafts) return;
    throw new BundleRefusedError(
      `This bundle is for ${draftId ? `draft ${draftId}` : 'a draft'}, which CONNECTOR_QUEUE_PROTOCOL=api cannot reach (OpenCTI's stixBundlePush imports into the live knowledge): use amqp, or review in the workbench`,
    );
  }

  /** `<work id>.json` for a work's first bundle (pycti's name), then `<work id>_2.json`, `_3`… */
  private nextFileName(workId: string): string {
    const count = (this.uploads.get(workId) ?? 0) + 1;
    remember(this.uploads, workId, count);
    return count === 1 ? `${workId}.json` : `${workId}_${count}.json`;
  }

  /** The draft of a work: created by its first bundle, named `<work id>.json` as pycti names it. */
  private async draftOf(workId: string): Promise<string> {
    const known = this.drafts.get(workId);
    if (known) return known;
    const draftId = await this.o.review.draftWorkspaceAdd(`${workId}.json`, null);
    remember(this.drafts, workId, draftId);
    await this.o.review.workAddDraftContext(workId, draftId);
    this.o.logger.info({ workId, draftId }, 'draft created for review: the bundles of this work go into it');
    return draftId;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > REMEMBERED_WORKS) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
