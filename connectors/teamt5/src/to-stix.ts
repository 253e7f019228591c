/**
 * Pure mapping of TeamT5 items to bundles, as upstream does it: the downloaded STIX objects keep their ids
 * and markings, gain the connector's author (`x_opencti_created_by_ref` on observables, `created_by_ref`
 * elsewhere, replacing TeamT5's) and the configured TLP marking; a report also gets a Report object with
 * pycti's id. Unlike upstream, the Report refers only to the knowledge objects (not to marking definitions
 * nor to the identities that merely author the others), and a bundle whose objects are broken (no id,
 * dangling references, one id with two contents) is refused whole instead of pushed half-broken.
 */
import {
  assembleBundle,
  BundleError,
  buildAuthor,
  buildReport,
  bundleIdFor,
  type Identity,
  isObservableType,
  type MarkingDefinition,
  type Report,
  reportId,
  type StixBundle,
  type StixObject,
  TLP_MARKING_IDS,
  type TlpLevel,
  tlpMarkingDefinition,
  validateBundle,
} from '@cti/connector-sdk';
import type { ReportRef } from './client.js';

/** Upstream's list of STIX 2.1 observable types, which carry the author as `x_opencti_created_by_ref`. */
const UPSTREAM_SCO_TYPES: ReadonlySet<string> = new Set([
  'artifact',
  'autonomous-system',
  'directory',
  'domain-name',
  'email-addr',
  'email-message',
  'file',
  'ipv4-addr',
  'ipv6-addr',
  'mac-addr',
  'mutex',
  'network-traffic',
  'process',
  'software',
  'url',
  'user-account',
  'windows-registry-key',
  'x509-certificate',
]);

/** STIX meta objects: never knowledge a report is about. */
const META_TYPES: ReadonlySet<string> = new Set(['marking-definition', 'extension-definition', 'language-content']);

const MAX_PROBLEMS_SHOWN = 10;

/** The ThreatVision page of a report, upstream's link when the listing gives no PDF URL. */
export const REPORT_PAGE_URL = 'https://threatvision.org/reports/detail';

export interface MappingOptions {
  /** The connector's identity (CONNECTOR_NAME, organization). */
  author: Identity;
  tlp: TlpLevel;
}

/** The author of everything imported: CONNECTOR_NAME as an organization, pycti's id. */
export function teamt5Author(name: string): Identity {
  return buildAuthor(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Observables (OpenCTI's own types included) take the author as `x_opencti_created_by_ref`. */
export function isObservable(type: string): boolean {
  return UPSTREAM_SCO_TYPES.has(type) || isObservableType(type);
}

/**
 * A downloaded object with the author and the TLP marking. Marking definitions are left untouched; the TLP
 * is appended to the object's own markings (once). Anything that is not an object is returned as is, for
 * the validation to name it.
 */
export function stampObject(object: unknown, authorId: string, tlpId: string): unknown {
  if (!isRecord(object) || typeof object.type !== 'string' || object.type === 'marking-definition') return object;
  const stamped: Record<string, unknown> = { ...object };
  if (object.id !== authorId) {
    if (isObservable(object.type)) stamped.x_opencti_created_by_ref = authorId;
    else stamped.created_by_ref = authorId;
  }
  const own = Array.isArray(object.object_marking_refs) ? object.object_marking_refs : [];
  stamped.object_marking_refs = own.includes(tlpId) ? [...own] : [...own, tlpId];
  return stamped;
}

/** Ids of identities that author other objects of the downloaded bundle (TeamT5's own organisation). */
function authoringIdentities(objects: readonly unknown[]): Set<string> {
  const authors = new Set<string>();
  for (const object of objects) {
    if (!isRecord(object)) continue;
    for (const key of ['created_by_ref', 'x_opencti_created_by_ref']) {
      const ref = object[key];
      if (typeof ref === 'string' && ref.startsWith('identity--')) authors.add(ref);
    }
  }
  return authors;
}

/** What a TeamT5 report is about: every downloaded object but meta objects and authoring identities. */
export function reportObjectRefs(objects: readonly unknown[]): string[] {
  const authors = authoringIdentities(objects);
  // A Set keeps the first occurrence's order; a list scan per object was quadratic on a large download.
  const refs = new Set<string>();
  for (const object of objects) {
    if (!isRecord(object) || typeof object.id !== 'string' || typeof object.type !== 'string') continue;
    if (META_TYPES.has(object.type) || authors.has(object.id)) continue;
    refs.add(object.id);
  }
  return [...refs];
}

/** `published` from the listing's unix seconds; the id hashes it as pycti hashes a UTC datetime. */
export function toTeamt5Report(ref: ReportRef, objectRefs: readonly string[], options: MappingOptions): Report {
  const published = new Date(ref.date * 1000);
  const publishedIso = published.toISOString();
  const url = ref.pdfUrl ?? (ref.alias === null ? null : `${REPORT_PAGE_URL}?alias=${encodeURIComponent(ref.alias)}`);
  const report = buildReport(
    {
      name: ref.title,
      published: publishedIso,
      // The publication date as creation date keeps the bytes the same on every run.
      created: publishedIso,
      object_refs: objectRefs,
      description: ref.digest ?? undefined,
      report_types: [ref.typeName ?? 'report'],
      external_references:
        url === null ? undefined : [{ source_name: 'Team T5', url, description: 'PDF report from Team T5' }],
    },
    { author: options.author, markings: [TLP_MARKING_IDS[options.tlp]] },
  );
  // SDK-GAP: buildReport hashes `published` as the ISO string it is given ("…00.000Z"); upstream passes a
  // datetime, which pycti hashes as isoformat() ("…00+00:00"). reportId with a Date hashes it the same way.
  return { ...report, id: reportId(ref.title, published) };
}

/**
 * The bundle to send for one TeamT5 item: the downloaded objects stamped, the extra objects (the Report),
 * the author and the TLP marking (unless the download already holds an object with that id).
 *
 * @throws BundleError naming every problem when the downloaded objects are empty or broken.
 */
function composeBundle(
  downloaded: readonly unknown[],
  extra: (downloaded: readonly unknown[]) => StixObject[],
  options: MappingOptions,
): StixBundle {
  if (downloaded.length === 0) throw new BundleError('The STIX bundle has no objects: nothing to import');
  const tlp: MarkingDefinition = tlpMarkingDefinition(options.tlp);
  const stamped = downloaded.map((o) => stampObject(o, options.author.id, tlp.id));
  const ids = new Set(stamped.flatMap((o) => (isRecord(o) && typeof o.id === 'string' ? [o.id] : [])));
  const author = ids.has(options.author.id) ? undefined : options.author;
  const markings = ids.has(tlp.id) ? [] : [tlp];
  const additions = extra(downloaded);
  // TeamT5's objects first, so that a problem's position (objects[3]) is the one in the downloaded bundle.
  const objects: unknown[] = [...stamped, ...(author ? [author] : []), ...markings, ...additions];
  const ownIds = objects.flatMap((o) => (isRecord(o) && typeof o.id === 'string' ? [o.id] : []));
  // Ids outside the bundle that OpenCTI always knows: the fixed TLP markings.
  const problems = validateBundle(
    { type: 'bundle', id: bundleIdFor(ownIds), objects },
    { external: Object.values(TLP_MARKING_IDS) },
  );
  if (problems.length > 0) {
    // A work's error line stays readable however broken the download is.
    const shown =
      problems.length > MAX_PROBLEMS_SHOWN
        ? [...problems.slice(0, MAX_PROBLEMS_SHOWN), `… ${problems.length - MAX_PROBLEMS_SHOWN} more`]
        : problems;
    throw new BundleError('The STIX bundle is invalid', shown);
  }
  return assembleBundle({ objects: [...(stamped as StixObject[]), ...additions], author, markings });
}

/** A report's bundle: TeamT5's objects plus the Report that refers to them. */
export function toReportBundle(ref: ReportRef, downloaded: readonly unknown[], options: MappingOptions): StixBundle {
  return composeBundle(
    downloaded,
    // Read before the stamp replaces TeamT5's authorship with the connector's.
    (objects) => {
      const refs = reportObjectRefs(objects);
      if (refs.length === 0) {
        throw new BundleError('The STIX bundle holds no knowledge object (only identities and markings)');
      }
      return [toTeamt5Report(ref, refs, options)];
    },
    options,
  );
}

/** An indicator bundle's objects, pushed as they come with the author and the TLP. */
export function toIndicatorBundle(downloaded: readonly unknown[], options: MappingOptions): StixBundle {
  return composeBundle(downloaded, () => [], options);
}
