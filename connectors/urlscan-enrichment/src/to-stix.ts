/**
 * urlscan.io scan result → one STIX bundle, as the community connector's README promises (Robinzor/
 * opencti-urlscan, main.py at 02af682), done right: everything travels in the bundle with deterministic ids instead of
 * side GraphQL calls, the author is in it, every object carries the observable's own markings (the
 * community connector forced its note to TLP:WHITE), IPv6 addresses are IPv6-Addr, and the note has one
 * id per scan.
 */
import { isIP } from 'node:net';
import {
  assembleBundle,
  attachFile,
  buildAuthor,
  buildIdentity,
  buildIndicator,
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
import type { ScanResult } from './client.js';
import { normalizeDomain } from './search.js';

export const AUTHOR_NAME = 'URLScan.io';
export const AUTHOR_DESCRIPTION = 'urlscan.io, a sandbox for the web: scans of URLs and domains with their verdicts';
export const NOTE_ABSTRACT = 'URLScan.io Analysis Results';
export const LABEL = 'urlscan';

export interface MappingOptions {
  /** CONNECTOR_CONFIDENCE_LEVEL, on every SDO and SRO. */
  confidence: number | undefined;
  /** URLSCAN_CREATE_INDICATOR. */
  createIndicator: boolean;
  /**
   * The Indicator whose pattern named the observable, when an Indicator was enriched: it is `based-on` the
   * observable and the note is about it too.
   */
  indicatorId?: string | undefined;
  now: Date;
}

/** The public page of a scan. */
export function resultPageUrl(uuid: string): string {
  return `https://urlscan.io/result/${uuid.toLowerCase()}/`;
}

/**
 * The note's id: one note per scan, whatever its content becomes (community votes change it). pycti's
 * Note rule (uuid5 of the content) applied to a key naming the scan instead of the text.
 */
export function scanNoteId(uuid: string): string {
  return noteId(`${NOTE_ABSTRACT} ${resultPageUrl(uuid)}`);
}

/** What the verdicts say, merged from urlscan's overall and own verdicts. */
export interface VerdictSummary {
  malicious: boolean;
  score: number | undefined;
  /** Brand names, first spelling kept, case-insensitively unique. */
  brands: string[];
  /** Brand verticals (sectors). */
  sectors: string[];
  categories: string[];
}

function uniqueCaseless(values: Iterable<string>): string[] {
  const seen = new Map<string, string>();
  for (const raw of values) {
    const value = raw.trim();
    if (value !== '' && !seen.has(value.toLowerCase())) seen.set(value.toLowerCase(), value);
  }
  return [...seen.values()];
}

export function summarizeVerdicts(result: ScanResult): VerdictSummary {
  const overall = result.verdicts?.overall;
  const own = result.verdicts?.urlscan;
  const brandNames: string[] = [];
  const sectors: string[] = [];
  for (const brand of [...(overall?.brands ?? []), ...(own?.brands ?? [])]) {
    if (typeof brand === 'string') brandNames.push(brand);
    else {
      if (brand.name) brandNames.push(brand.name);
      sectors.push(...brand.vertical);
    }
  }
  return {
    malicious: overall?.malicious === true,
    score: overall?.score,
    brands: uniqueCaseless(brandNames),
    sectors: uniqueCaseless(sectors),
    categories: uniqueCaseless(
      [...(overall?.categories ?? []), ...(own?.categories ?? [])].map((c) => c.toLowerCase()),
    ),
  };
}

/** A label from a brand or a category: lower case, words joined by hyphens (the community connector's form). */
function labelOf(value: string): string {
  return value.trim().toLowerCase().replace(/\s+/g, '-');
}

/** Server labels kept: a page served through many CDNs lists a dozen; the first few say what runs it. */
export const MAX_SERVER_LABELS = 10;

/**
 * The official connector's `urlscan: <server>` labels (the HTTP servers the page's answers named,
 * `lists.servers`): the one kind of its labels that says something ours do not (its `urlscan: malicious`,
 * `urlscan: <category>` and `urlscan: <brand>` are `malicious`, the categories and the brands here).
 */
export function serverLabels(result: ScanResult): string[] {
  const servers = uniqueCaseless((result.lists?.servers ?? []).map((s) => s.replace(/\s+/g, ' ')));
  return servers.slice(0, MAX_SERVER_LABELS).map((server) => `urlscan: ${server}`);
}

/** `urlscan`, `malicious` when the overall verdict says so, then brands and categories. */
export function urlscanLabels(summary: VerdictSummary): string[] {
  return [
    ...new Set([
      LABEL,
      ...(summary.malicious ? ['malicious'] : []),
      ...summary.brands.map(labelOf),
      ...summary.categories.map(labelOf),
    ]),
  ];
}

/** Markdown-escapes a value from the scan (page titles are attacker-controlled) and keeps it on one line. */
export function md(value: string | number | undefined | null): string {
  if (value === undefined || value === null) return '';
  return [...String(value)]
    .map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? ' ' : c))
    .join('')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\`*_{}[\]<>()#+!|~]/g, '\\$&');
}

const yesNo = (value: boolean | undefined) => (value === undefined ? 'n/a' : value ? 'yes' : 'no');

/** The note's Markdown: verdicts, targeting, page details, scan time. */
export function noteContent(result: ScanResult, summary: VerdictSummary): string {
  const { task, page } = result;
  const v = result.verdicts;
  const lines: string[] = [`## ${NOTE_ABSTRACT}`, ''];
  const how = [task.method, task.visibility].filter(Boolean).map(md).join(', ');
  lines.push(
    `Scan [${task.uuid}](${resultPageUrl(task.uuid)}) of ${md(task.url ?? page.url ?? '')}` +
      `${task.time ? ` at ${md(task.time)}` : ''}${how ? ` (${how})` : ''}.`,
    '',
    '### Verdicts',
    '',
    '| Source | Malicious | Score | Details |',
    '| --- | --- | --- | --- |',
  );
  const details = (parts: Array<string | false | undefined>) => parts.filter(Boolean).join('; ');
  const list = (values: readonly string[]) => values.map(md).join(', ');
  const overall = v?.overall;
  lines.push(
    `| Overall | ${yesNo(overall?.malicious)} | ${md(overall?.score ?? '')} | ${details([
      overall?.categories.length ? `categories: ${list(overall.categories)}` : undefined,
      overall?.tags.length ? `tags: ${list(overall.tags)}` : undefined,
    ])} |`,
  );
  const own = v?.urlscan;
  lines.push(
    `| urlscan.io | ${yesNo(own?.malicious)} | ${md(own?.score ?? '')} | ${details([
      own?.categories.length ? `categories: ${list(own.categories)}` : undefined,
      own?.brands.length
        ? `brands: ${list(own.brands.map((b) => (typeof b === 'string' ? b : (b.name ?? b.key ?? ''))))}`
        : undefined,
    ])} |`,
  );
  const community = v?.community;
  lines.push(
    `| Community | ${yesNo(community?.malicious)} | ${md(community?.score ?? '')} | ${
      community?.votesTotal !== undefined
        ? `${md(community.votesMalicious ?? 0)} of ${md(community.votesTotal)} votes malicious`
        : ''
    } |`,
  );
  const engines = v?.engines;
  const engineNames = (engines?.malicious ?? []).map((e) =>
    typeof e === 'string'
      ? e
      : e && typeof e === 'object'
        ? String((e as { engine?: unknown; name?: unknown }).engine ?? (e as { name?: unknown }).name ?? '')
        : '',
  );
  lines.push(
    `| Engines | ${yesNo(engines ? (engines.maliciousTotal ?? engineNames.length) > 0 : undefined)} | ${md(
      engines?.score ?? '',
    )} | ${
      engines?.enginesTotal !== undefined
        ? details([
            `${md(engines.maliciousTotal ?? 0)} of ${md(engines.enginesTotal)} engines malicious`,
            engineNames.some(Boolean) && list(engineNames.filter(Boolean)),
          ])
        : ''
    } |`,
  );

  lines.push('', '### Targeting', '');
  lines.push(`- **Brands**: ${summary.brands.length ? list(summary.brands) : 'none'}`);
  lines.push(`- **Categories**: ${summary.categories.length ? list(summary.categories) : 'none'}`);
  lines.push(`- **Sectors**: ${summary.sectors.length ? list(summary.sectors) : 'none'}`);

  const rows: Array<[string, string | undefined]> = [
    ['Title', page.title],
    ['URL', page.url],
    [
      'Domain',
      page.domain &&
        `${page.domain}${page.apexDomain && page.apexDomain !== page.domain ? ` (apex ${page.apexDomain})` : ''}`,
    ],
    ['HTTP status', page.status],
    ['MIME type', page.mimeType],
    ['Server', page.server],
    ['IP', page.ip],
    ['ASN', page.asn && `${page.asn}${page.asnname ? ` (${page.asnname})` : ''}`],
    ['Country', page.country],
    ['TLS issuer', page.tlsIssuer],
    [
      'TLS validity',
      page.tlsValidDays !== undefined
        ? `${page.tlsValidDays} days${page.tlsValidFrom ? ` from ${page.tlsValidFrom}` : ''}${
            page.tlsAgeDays !== undefined ? ` (certificate ${page.tlsAgeDays} days old at scan time)` : ''
          }`
        : page.tlsValidFrom && `from ${page.tlsValidFrom}`,
    ],
    ['Redirects', page.redirected],
  ];
  const present = rows.filter((r): r is [string, string] => typeof r[1] === 'string' && r[1].trim() !== '');
  lines.push('', '### Page', '');
  if (present.length === 0) lines.push('urlscan.io recorded no page details (the page did not load).');
  else {
    lines.push('| Field | Value |', '| --- | --- |');
    for (const [name, value] of present) lines.push(`| ${name} | ${md(value)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** A STIX pattern string literal: `\` and `'` escaped. */
function patternLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `AS64500`, `64500` or 64500 → 64500. */
export function asNumber(value: string | number | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const m = /^\s*(?:AS)?(\d{1,10})\s*$/i.exec(String(value));
  const n = m?.[1] === undefined ? Number.NaN : Number(m[1]);
  return Number.isSafeInteger(n) && n <= 4_294_967_295 ? n : undefined;
}

interface ScannedIp {
  ip: string;
  asn: number | undefined;
  asName: string | undefined;
}

/** An address the scanned page contacted (`stats.ipStats`), with its network and the hosts it served. */
export interface ContactedIp extends ScannedIp {
  domains: string[];
}

/** Contacted addresses mapped: a heavy page contacts a few dozen; a hostile answer cannot make thousands. */
export const MAX_CONTACTED_IPS = 100;
/** Contacted hostnames mapped, for the same reason. */
export const MAX_CONTACTED_HOSTNAMES = 100;

function addressOf(raw: string | undefined): string | null {
  const address = raw?.trim();
  return address && isIP(address) !== 0 ? address : null;
}

/**
 * Every address the page contacted, as urlscan lists them (`stats.ipStats`, first MAX_CONTACTED_IPS), each
 * with its AS and the hosts it served, then the page's own address when the list lacks it.
 */
export function contactedIps(result: ScanResult): ContactedIp[] {
  const out = new Map<string, ContactedIp>();
  for (const stat of result.stats?.ipStats ?? []) {
    const ip = addressOf(stat.ip);
    if (ip === null) continue;
    const known = out.get(ip);
    const domains = stat.domains.map(normalizeDomain);
    if (known) known.domains = [...new Set([...known.domains, ...domains])];
    else if (out.size < MAX_CONTACTED_IPS) {
      out.set(ip, {
        ip,
        asn: asNumber(stat.asn?.asn),
        asName: stat.asn?.description ?? stat.asn?.name,
        domains,
      });
    }
  }
  const page = result.page;
  const pageIp = addressOf(page.ip);
  if (pageIp !== null && !out.has(pageIp)) {
    out.set(pageIp, {
      ip: pageIp,
      asn: asNumber(page.asn),
      asName: page.asnname,
      domains: page.domain ? [normalizeDomain(page.domain)] : [],
    });
  }
  return [...out.values()];
}

/** The host the observable names: a Url's page domain (or its own host), a domain's or hostname's value. */
export function ownHost(entityType: string, value: string, result: ScanResult): string | null {
  if (entityType.toLowerCase() !== 'url') return normalizeDomain(value);
  if (result.page.domain) return normalizeDomain(result.page.domain);
  try {
    return normalizeDomain(new URL(value).hostname);
  } catch {
    return null;
  }
}

/**
 * The addresses the observable was seen at: every contacted address that served its host (for a Url, the
 * host of its page), and for a Url the page's own address. A Domain-Name or Hostname search also finds
 * scans of other sites that merely loaded something from it: the page's address is its own only when the
 * page is on it.
 */
export function scannedIps(entityType: string, value: string, result: ScanResult): ScannedIp[] {
  const host = ownHost(entityType, value, result);
  const isUrl = entityType.toLowerCase() === 'url';
  const pageIp = addressOf(result.page.ip);
  return contactedIps(result)
    .filter((c) => (host !== null && c.domains.includes(host)) || (isUrl && c.ip === pageIp))
    .map(({ ip, asn, asName }) => ({ ip, asn, asName }));
}

/** A contacted host worth a Hostname observable: a dotted name, not an address. */
function isHostName(value: string): boolean {
  return /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$/.test(value) && isIP(value) === 0;
}

/** The contacted hosts that are not the observable's, each with the addresses that served it (bounded). */
export function contactedHostnames(
  entityType: string,
  value: string,
  result: ScanResult,
): Array<{ hostname: string; ips: string[] }> {
  const host = ownHost(entityType, value, result);
  const out = new Map<string, string[]>();
  for (const contacted of contactedIps(result)) {
    // As the official connector: the addresses of the observable's own host give no hostname.
    if (host !== null && contacted.domains.includes(host)) continue;
    for (const domain of contacted.domains) {
      if (!isHostName(domain)) continue;
      const ips = out.get(domain);
      if (ips) ips.push(contacted.ip);
      else if (out.size < MAX_CONTACTED_HOSTNAMES) out.set(domain, [contacted.ip]);
    }
  }
  return [...out].map(([hostname, ips]) => ({ hostname, ips }));
}

/**
 * The screenshot's file name, the official connector's: the page title with `-` for spaces, `_`, the scan
 * uuid, `.png`. The title comes from the scanned page: anything that is not a plain file-name character
 * becomes `_`, and it is cut at 100 characters. Without a title, the uuid alone.
 */
export function screenshotFileName(result: ScanResult): string {
  const uuid = result.task.uuid.toLowerCase();
  const title = [...(result.page.title ?? '').trim().replace(/ /g, '-')]
    .map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f || '/\\:*?"<>|'.includes(c) ? '_' : c))
    .join('')
    .slice(0, 100);
  return title === '' ? `${uuid}.png` : `${title}_${uuid}.png`;
}

/**
 * `bundle` with the scan's screenshot attached to the enriched observable (`x_opencti_files`).
 * @throws AttachmentError when the bytes are not a PNG or are over `maxBytes`; nothing is attached then.
 */
export function withScreenshot(
  bundle: StixBundle,
  observableId: string,
  result: ScanResult,
  png: Uint8Array,
  maxBytes: number,
): StixBundle {
  const file = { name: screenshotFileName(result), mimeType: 'image/png', data: png };
  return {
    ...bundle,
    objects: bundle.objects.map((o) =>
      o.id === observableId ? attachFile(o, file, { maxBytes, maxBytesSetting: 'URLSCAN_SCREENSHOT_MAX_MB' }) : o,
    ),
  };
}

/** The enrichment bundle for a scan result about `entity`. */
export function toStixBundle(entity: EnrichmentEntity, result: ScanResult, o: MappingOptions): StixBundle {
  const author = buildAuthor(AUTHOR_NAME, AUTHOR_DESCRIPTION);
  const markings = entity.markingIds;
  const ctx: StixContext = { author, markings, confidence: o.confidence, now: o.now.toISOString() };
  const observableId = entity.id;
  const value = entity.value ?? '';
  const isUrl = entity.entityType.toLowerCase() === 'url';
  const isHostname = entity.entityType.toLowerCase() === 'hostname';
  const uuid = result.task.uuid.toLowerCase();
  // The scan's time when urlscan gives a real instant (in the one STIX form), else the enrichment's own.
  const scanTime = (result.task.time && toStixTimestamp(result.task.time)) || undefined;
  const summary = summarizeVerdicts(result);
  const labels = [...urlscanLabels(summary), ...serverLabels(result)];
  const ref: ExternalReference = {
    source_name: AUTHOR_NAME,
    url: resultPageUrl(uuid),
    external_id: uuid,
    description: 'urlscan.io scan result',
  };
  // The observable re-sent with its labels and the result page, wherever the worker reads them.
  const resent = updateObservable(entity.stix, {
    addLabels: [...entity.labels, ...labels],
    addExternalReferences: [ref],
  });
  // An Indicator's observable is created here: authored like everything else this connector creates.
  const objects: StixObject[] = [
    o.indicatorId === undefined ? resent : { ...resent, x_opencti_created_by_ref: author.id },
  ];
  const relate = (type: string, target: string, description: string) =>
    objects.push(
      buildRelationship({ relationship_type: type, source_ref: observableId, target_ref: target, description }, ctx),
    );

  if (isUrl && result.page.domain) {
    const domain = buildObservable('domain-name', { value: normalizeDomain(result.page.domain) }, ctx);
    objects.push(domain);
    relate('related-to', domain.id, `urlscan.io: the page of this URL is on ${domain.value}`);
  }

  // Every address the page contacted, with its network (the AS named by its number, as the official
  // connector names it; urlscan's name for it as its description).
  const ipIds = new Map<string, string>();
  for (const contacted of contactedIps(result)) {
    const ip =
      isIP(contacted.ip) === 6
        ? buildObservable('ipv6-addr', { value: contacted.ip }, ctx)
        : buildObservable('ipv4-addr', { value: contacted.ip }, ctx);
    objects.push(ip);
    ipIds.set(contacted.ip, ip.id);
    if (contacted.asn !== undefined) {
      const as = buildObservable(
        'autonomous-system',
        {
          number: contacted.asn,
          name: `AS${contacted.asn}`,
          ...(contacted.asName ? { x_opencti_description: contacted.asName } : {}),
        },
        ctx,
      );
      objects.push(
        as,
        buildRelationship({ relationship_type: 'belongs-to', source_ref: ip.id, target_ref: as.id }, ctx),
      );
    }
  }
  for (const seen of scannedIps(entity.entityType, value, result)) {
    const ipId = ipIds.get(seen.ip);
    if (ipId === undefined) continue;
    if (isUrl) relate('related-to', ipId, `urlscan.io: the page of this URL was served from ${seen.ip}`);
    else
      relate(
        'resolves-to',
        ipId,
        `urlscan.io: this ${isHostname ? 'hostname' : 'domain'} resolved to ${seen.ip} when scanned`,
      );
  }
  // The other hosts the page contacted, as the official connector builds them: observable related-to
  // hostname, hostname resolves-to the addresses that served it.
  for (const { hostname, ips } of contactedHostnames(entity.entityType, value, result)) {
    const host = buildObservable('hostname', { value: hostname }, ctx);
    if (host.id === observableId) continue;
    objects.push(host);
    relate('related-to', host.id, `urlscan.io: the scanned page contacted ${hostname}`);
    for (const address of ips) {
      const ipId = ipIds.get(address);
      if (ipId === undefined) continue;
      objects.push(
        buildRelationship(
          {
            relationship_type: 'resolves-to',
            source_ref: host.id,
            target_ref: ipId,
            description: `urlscan.io: ${hostname} was served from ${address} during the scan`,
          },
          ctx,
        ),
      );
    }
  }

  for (const sector of summary.sectors) {
    const identity = buildIdentity({ name: sector, identity_class: 'class' }, ctx);
    objects.push(identity);
    relate('related-to', identity.id, `urlscan.io: the scanned page targets the ${sector} sector`);
  }
  for (const brand of summary.brands) {
    const identity = buildIdentity({ name: brand, identity_class: 'organization' }, ctx);
    objects.push(identity);
    relate('related-to', identity.id, `urlscan.io: the scanned page targets the brand ${brand}`);
  }

  const note = buildNote(
    {
      abstract: NOTE_ABSTRACT,
      content: noteContent(result, summary),
      object_refs: o.indicatorId === undefined ? [observableId] : [observableId, o.indicatorId],
      note_types: ['external'],
      external_references: [ref],
      ...(scanTime ? { created: scanTime } : {}),
    },
    ctx,
  );
  objects.push({ ...note, id: scanNoteId(uuid) });

  if (summary.malicious && o.createIndicator && value !== '') {
    const stixType = isUrl ? 'url' : isHostname ? 'hostname' : 'domain-name';
    // The observable's own value, so the pattern (and the indicator id) is what any connector would write.
    const indicatorValue = value.trim();
    const indicator = buildIndicator(
      {
        pattern: `[${stixType}:value = ${patternLiteral(indicatorValue)}]`,
        pattern_type: 'stix',
        name: indicatorValue,
        description: `urlscan.io classifies this ${isUrl ? 'URL' : isHostname ? 'hostname' : 'domain'} as malicious${
          summary.categories.length ? ` (${summary.categories.join(', ')})` : ''
        }${summary.brands.length ? `, targeting ${summary.brands.join(', ')}` : ''}`,
        indicator_types: ['malicious-activity'],
        ...(scanTime ? { valid_from: scanTime } : {}),
        labels,
        external_references: [ref],
        x_opencti_main_observable_type: entity.entityType,
        ...(summary.score !== undefined ? { x_opencti_score: summary.score } : {}),
      },
      ctx,
    );
    objects.push(
      indicator,
      buildRelationship({ relationship_type: 'based-on', source_ref: indicator.id, target_ref: observableId }, ctx),
    );
  }

  if (o.indicatorId !== undefined) {
    objects.push(
      buildRelationship({ relationship_type: 'based-on', source_ref: o.indicatorId, target_ref: observableId }, ctx),
    );
  }

  // The entity (the enriched indicator) and the non-TLP markings (PAP, statements) live on the platform already.
  return assembleBundle({
    objects,
    author,
    external: [observableId, ...(o.indicatorId === undefined ? [] : [o.indicatorId]), ...markings],
  });
}
