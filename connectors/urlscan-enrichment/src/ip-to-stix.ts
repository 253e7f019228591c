/**
 * An IPv4-Addr or IPv6-Addr: the urlscan.io Search API's scans whose pages contacted the address → one
 * bundle. The official connector only links the search (an external reference on the observable, built
 * without searching); this reads the newest scans too: a note listing them with their verdicts, and the
 * pages' domains, each tied to the address (`resolves-to` when the page itself was served from it,
 * `related-to` when it only loaded something from it). Both lists are bounded.
 */
import {
  assembleBundle,
  buildAuthor,
  buildNote,
  buildObservable,
  buildRelationship,
  type EnrichmentEntity,
  type ExternalReference,
  noteId,
  type StixBundle,
  type StixContext,
  type StixObject,
  toStixTimestamp,
  updateObservable,
} from '@cti/connector-sdk';
import type { SearchHit } from './client.js';
import { newestFirst, normalizeDomain, normalizeIp } from './search.js';
import { AUTHOR_DESCRIPTION, AUTHOR_NAME, LABEL, md, resultPageUrl } from './to-stix.js';

export const IP_NOTE_ABSTRACT = 'URLScan.io scans that contacted this address';
/** Scans listed in the note. */
export const MAX_IP_SCANS = 20;
/** Page domains mapped: a shared hosting address serves thousands, the newest few say what it is used for. */
export const MAX_IP_DOMAINS = 10;

export interface IpMappingOptions {
  confidence: number | undefined;
  /** URLSCAN_SEARCH_FILTERED_BY_DATE, as the search used it (null: no filter). */
  dateFilter: string | null;
  now: Date;
}

/**
 * The urlscan.io search page for the address: the official connector's link (`ip:<address> AND
 * date:<filter>`), with the fragment percent-encoded so it is a valid URL.
 */
export function ipSearchPageUrl(ip: string, dateFilter: string | null): string {
  const query = `ip:${ip}${dateFilter === null ? '' : ` AND date:${dateFilter}`}`;
  return `https://urlscan.io/search#${encodeURIComponent(query)}`;
}

/** One note per address, updated by each enrichment (pycti's Note rule on a key naming the address). */
export function ipNoteId(ip: string): string {
  return noteId(`${IP_NOTE_ABSTRACT} ${ip}`);
}

/** A hit's verdict: the overall one when the answer has it, else the top-level one. */
export function hitVerdict(hit: SearchHit): { malicious: boolean | undefined; score: number | undefined } {
  const v = hit.verdicts;
  return { malicious: v?.overall?.malicious ?? v?.malicious, score: v?.overall?.score ?? v?.score };
}

/** A page domain worth an observable: a host name with a dot, not an address. */
function pageDomainOf(hit: SearchHit): string | null {
  const raw = hit.page?.domain ?? hit.task?.domain;
  if (raw === undefined) return null;
  const domain = normalizeDomain(raw);
  if (!/^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$/.test(domain) || normalizeIp(domain) !== null) return null;
  return domain;
}

export interface IpSearchSummary {
  scans: SearchHit[];
  /** Page domains, newest first, each with whether a page on it was served from the address. */
  domains: Array<{ domain: string; servedFrom: boolean }>;
  malicious: number;
}

export function summarizeIpSearch(ip: string, hits: readonly SearchHit[]): IpSearchSummary {
  const scans = newestFirst(hits).slice(0, MAX_IP_SCANS);
  const domains = new Map<string, boolean>();
  for (const hit of scans) {
    const domain = pageDomainOf(hit);
    if (domain === null) continue;
    const served = normalizeIp(hit.page?.ip ?? '') === ip;
    if (domains.has(domain)) {
      if (served) domains.set(domain, true);
    } else if (domains.size < MAX_IP_DOMAINS) domains.set(domain, served);
  }
  return {
    scans,
    domains: [...domains].map(([domain, servedFrom]) => ({ domain, servedFrom })),
    malicious: scans.filter((hit) => hitVerdict(hit).malicious === true).length,
  };
}

export function ipNoteContent(ip: string, summary: IpSearchSummary, total: number | undefined): string {
  const lines = [
    `## ${IP_NOTE_ABSTRACT}`,
    '',
    `The ${summary.scans.length} newest urlscan.io scans whose page contacted ${md(ip)}` +
      `${total !== undefined && total > summary.scans.length ? ` (of ${md(total)})` : ''}; ` +
      `${summary.malicious} with a malicious verdict.`,
    '',
    '| Scanned | Page | Domain | HTTP status | Page served from this address | Verdict |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const hit of summary.scans) {
    const { malicious, score } = hitVerdict(hit);
    const verdict =
      malicious === undefined
        ? 'n/a'
        : `${malicious ? 'malicious' : 'not malicious'}${score !== undefined ? ` (${score})` : ''}`;
    const served = hit.page?.ip === undefined ? 'n/a' : normalizeIp(hit.page.ip) === ip ? 'yes' : 'no';
    lines.push(
      `| [${md(hit.task?.time ?? hit._id)}](${resultPageUrl(hit._id)}) | ${md(hit.page?.url ?? hit.task?.url)} | ${md(
        hit.page?.domain ?? hit.task?.domain,
      )} | ${md(hit.page?.status)} | ${served} | ${verdict} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The enrichment bundle of an address from its search hits (at least one). */
export function toIpSearchBundle(
  entity: EnrichmentEntity,
  hits: readonly SearchHit[],
  total: number | undefined,
  o: IpMappingOptions,
): StixBundle {
  const ip = normalizeIp(entity.value ?? '') ?? entity.value ?? '';
  const author = buildAuthor(AUTHOR_NAME, AUTHOR_DESCRIPTION);
  const ctx: StixContext = { author, markings: entity.markingIds, confidence: o.confidence, now: o.now.toISOString() };
  const summary = summarizeIpSearch(ip, hits);
  const ref: ExternalReference = {
    source_name: AUTHOR_NAME,
    url: ipSearchPageUrl(ip, o.dateFilter),
    description: 'urlscan.io scans whose page contacted this address',
  };
  const objects: StixObject[] = [
    updateObservable(entity.stix, { addLabels: [...entity.labels, LABEL], addExternalReferences: [ref] }),
  ];
  for (const { domain, servedFrom } of summary.domains) {
    const observable = buildObservable('domain-name', { value: domain }, ctx);
    objects.push(
      observable,
      buildRelationship(
        {
          relationship_type: servedFrom ? 'resolves-to' : 'related-to',
          source_ref: observable.id,
          target_ref: entity.id,
          description: servedFrom
            ? `urlscan.io: a page on ${domain} was served from ${ip}`
            : `urlscan.io: a page on ${domain} loaded content from ${ip}`,
        },
        ctx,
      ),
    );
  }
  const newest = summary.scans[0]?.task?.time;
  const created = (newest && toStixTimestamp(newest)) || undefined;
  const note = buildNote(
    {
      abstract: IP_NOTE_ABSTRACT,
      content: ipNoteContent(ip, summary, total),
      object_refs: [entity.id],
      note_types: ['external'],
      external_references: [ref],
      ...(created ? { created } : {}),
    },
    ctx,
  );
  objects.push({ ...note, id: ipNoteId(ip) });
  return assembleBundle({ objects, author, external: [entity.id, ...entity.markingIds] });
}
