/**
 * SpyCloud breach records → STIX, as the Python connector maps them (upstream's external-import/spycloud
 * services/converter_to_stix.py at cb0f5c13aa), with its
 * ids: the Incident's is pycti's rule on (name, created) with `created` hashed as Python prints the publish
 * date, observables get stix2's ids, relationships pycti's. Differences, on purpose: passwords are masked in
 * descriptions unless asked for, records that collide on one Incident id are merged into it instead of one of
 * them silently winning, Windows `infected_path` values are split as Windows paths, records without email,
 * username or IP are named after their document id instead of crashing, and bad values are skipped one by one.
 */
import { isIP } from 'node:net';
import { win32 } from 'node:path';
import { domainToASCII } from 'node:url';
import {
  assembleBundle,
  buildAuthor,
  buildIncident,
  buildObservable,
  buildRelationship,
  type Identity,
  type Incident,
  InputError,
  incidentId,
  type ObservableCommon,
  type StixBundle,
  type StixContext,
  type StixObject,
  TLP_MARKING_IDS,
  type TlpLevel,
} from '@cti/connector-sdk';
import type { BreachRecord } from './client.js';
import { parseIsoDateTime, pythonIsoformat } from './dates.js';

export const AUTHOR_DESCRIPTION = 'SpyCloud external import connector';
export const UNKNOWN_SOURCE = 'Unknown';
export const MASK = '********';

export const SEVERITY_NAMES = { 2: 'low', 5: 'medium', 20: 'high', 25: 'critical' } as const;

/** The fields upstream's model declares, in its order: the description lists them first, then the others. */
const DECLARED_FIELDS = [
  'document_id',
  'source_id',
  'spycloud_publish_date',
  'severity',
  'email',
  'full_name',
  'ip_addresses',
  'infected_path',
  'mac_address',
  'target_domain',
  'target_subdomain',
  'target_url',
  'user_agent',
  'user_hostname',
  'user_os',
  'username',
];
/** Said by the incident's own properties (source, severity, created), so left out of the table. */
const NOT_IN_TABLE = new Set(['source_id', 'severity', 'spycloud_publish_date']);

export interface MappingOptions {
  /** CONNECTOR_NAME: the author organization. */
  authorName: string;
  tlp: TlpLevel;
  /** SPYCLOUD_INCLUDE_PASSWORDS. */
  includePasswords: boolean;
  /** CONNECTOR_CONFIDENCE_LEVEL, when set. */
  confidence?: number | undefined;
}

/** Fields whose values are credentials: any `*password*`/`*passwd*` (but not `password_type`, the hash kind), salts, secrets, tokens, cookies. */
export function isCredentialField(name: string): boolean {
  const key = name.toLowerCase();
  if (key === 'password_type') return false;
  return /passw(or)?d|secret|token|cookie/.test(key) || /(^|_)salt($|_)/.test(key);
}

/** `Spycloud <severity> alert on <email | username | first IP | document id>` (Python's `or`: empty falls through). */
export function incidentName(record: BreachRecord): string {
  const subject = record.email || record.username || record.ip_addresses?.[0] || record.document_id;
  return `Spycloud ${SEVERITY_NAMES[record.severity]} alert on ${subject}`;
}

/** The record's publish date (the schema guarantees it parses). */
export function publishDate(record: BreachRecord): Date {
  const date = parseIsoDateTime(record.spycloud_publish_date);
  if (date === null) throw new InputError(`spycloud_publish_date "${record.spycloud_publish_date}" is not a date`);
  return date;
}

/** The Incident id the Python connector gives this record: pycti's rule on the name and Python's isoformat of the publish date. */
export function recordIncidentId(record: BreachRecord): string {
  return incidentId(incidentName(record), pythonIsoformat(record.spycloud_publish_date) ?? publishDate(record));
}

/** What the Incident id is computed from, without hashing it: equal keys give equal ids. */
function incidentKey(record: BreachRecord): string {
  return `${incidentName(record)}\n${pythonIsoformat(record.spycloud_publish_date) ?? publishDate(record).toISOString()}`;
}

/**
 * Cuts a page's records into groups of at most `maxRecords`, one bundle each, so that a bundle (and what
 * the SDK makes of it: a split copy, one message per object) stays small however large SpyCloud's pages
 * are. The records of one Incident stay together, in the group of its first record, so a colliding
 * Incident is still sent once per page with every record of the page in its description; such a group
 * may exceed `maxRecords`. Otherwise the records keep their order.
 */
export function groupForBundles(records: readonly BreachRecord[], maxRecords: number): BreachRecord[][] {
  const limit = Math.max(1, Math.floor(maxRecords));
  const byIncident = new Map<string, BreachRecord[]>();
  for (const record of records) {
    const key = incidentKey(record);
    const same = byIncident.get(key);
    if (same) same.push(record);
    else byIncident.set(key, [record]);
  }
  const groups: BreachRecord[][] = [];
  let current: BreachRecord[] = [];
  for (const same of byIncident.values()) {
    if (current.length > 0 && current.length + same.length > limit) {
      groups.push(current);
      current = [];
    }
    current.push(...same);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function cellText(value: unknown): string {
  const text =
    typeof value === 'string'
      ? value
      : Array.isArray(value)
        ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
  // A pipe or a line break would end the table cell; a backslash before punctuation would escape it.
  if (!/[\\|\r\n]/.test(text)) return text;
  return text
    .replace(/\\(?=[!-/:-@[-`{-~])/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n|\r/g, ' ');
}

/**
 * The record as upstream's `| Field | Value |` Markdown table (upstream's layout and field order), without
 * the fields the incident says itself, with credentials masked unless `includePasswords`.
 */
export function recordTable(record: BreachRecord, includePasswords: boolean): string {
  const raw = record as Record<string, unknown>;
  const keys = [
    ...DECLARED_FIELDS.filter((k) => k in raw),
    ...Object.keys(raw).filter((k) => !DECLARED_FIELDS.includes(k)),
  ];
  let table = '| Field | Value |  \n| ---- | ----- |  \n';
  for (const key of keys) {
    const value = raw[key];
    if (NOT_IN_TABLE.has(key) || value === null || value === undefined) continue;
    const shown = !includePasswords && isCredentialField(key) ? MASK : cellText(value);
    table += `| ${cellText(key)} | ${shown} |  \n`;
  }
  return table;
}

/** What an infected path yields: the file (its full path as name, upstream's id) and its directory. */
export interface InfectedPath {
  file: string | null;
  directory: string | null;
}

function isWindowsPath(path: string): boolean {
  return /^[A-Za-z]:/.test(path) || path.startsWith('\\\\') || (path.includes('\\') && !path.includes('/'));
}

/** Python's `PurePosixPath(p)`: its root (`/`, or `//` exactly) and its parts, empty and `.` segments dropped. */
function pythonPosixPath(path: string): { root: string; parts: string[] } {
  const root = path.startsWith('//') && !path.startsWith('///') ? '//' : path.startsWith('/') ? '/' : '';
  return { root, parts: path.split('/').filter((p) => p !== '' && p !== '.') };
}

/**
 * Splits `infected_path`. Windows paths (`C:\…`, `\\server\…`) are parsed as Windows paths: upstream parses
 * them as POSIX paths, so every directory it creates is ".". The file keeps the full path as its name, as
 * upstream names it (same id). A path ending in a separator is a directory, without a file; a bare file name
 * gets no directory.
 */
export function splitInfectedPath(path: string): InfectedPath {
  if (path.trim() === '') return { file: null, directory: null };
  if (isWindowsPath(path)) {
    if (/[\\/]$/.test(path)) {
      const trimmed = path.replace(/[\\/]+$/, '');
      // "C:\" stays the root it is.
      const directory = /^[A-Za-z]:$/.test(trimmed) ? `${trimmed}\\` : trimmed;
      return { file: null, directory: directory === '' ? null : directory };
    }
    const parent = win32.dirname(path);
    return { file: path, directory: parent === '.' || parent === path ? null : parent };
  }
  const { root, parts } = pythonPosixPath(path);
  const full = root + parts.join('/');
  if (path.endsWith('/')) return { file: null, directory: full === '' ? null : full };
  if (parts.length === 0) return { file: null, directory: null };
  const parent = root + parts.slice(0, -1).join('/');
  return { file: full, directory: parent === '' ? null : parent };
}

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9][a-z0-9_-]{0,61}[a-z]$/i;

/** A domain name as `validators.domain` accepts it (internationalised names through their punycode). */
export function isDomainName(value: string): boolean {
  const ascii = /^[\x20-\x7e]*$/.test(value) ? value : domainToASCII(value);
  return ascii !== '' && DOMAIN.test(ascii);
}

export function isEmailAddress(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at > 64 || /\s/.test(value)) return false;
  const domain = value.slice(at + 1);
  return isDomainName(domain) || /^\[[0-9a-f:.]+\]$/i.test(domain);
}

/** A MAC address with separators is kept as written (upstream's id); twelve bare hex digits get STIX's form. */
export function macAddressValue(value: string): string | null {
  if (/^[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}$/i.test(value)) return value;
  if (/^[0-9a-f]{12}$/i.test(value)) return (value.toLowerCase().match(/../g) ?? []).join(':');
  return null;
}

export interface RecordObservables {
  observables: ObservableCommon[];
  /** Values left out because they are not what their field says (logged by the caller). */
  skipped: string[];
}

/** The observables upstream derives from a record, in its order. */
export function recordObservables(record: BreachRecord, ctx: StixContext): RecordObservables {
  const observables: ObservableCommon[] = [];
  const skipped: string[] = [];
  const nonEmpty = (v: string | null | undefined): v is string => typeof v === 'string' && v.trim() !== '';

  if (nonEmpty(record.user_hostname)) {
    observables.push(
      buildObservable(
        'user-account',
        {
          account_login: record.user_hostname,
          ...(nonEmpty(record.user_os) ? { account_type: record.user_os } : {}),
        },
        ctx,
      ),
    );
  }
  let usernameAccount: ObservableCommon | null = null;
  if (nonEmpty(record.username)) {
    usernameAccount = buildObservable('user-account', { account_login: record.username }, ctx);
    observables.push(usernameAccount);
  }
  if (nonEmpty(record.email)) {
    if (isEmailAddress(record.email)) {
      observables.push(
        buildObservable(
          'email-addr',
          {
            value: record.email,
            ...(nonEmpty(record.full_name) ? { display_name: record.full_name } : {}),
            // Only the username's account: the hostname's is the infected machine's, not the mailbox owner's.
            ...(usernameAccount ? { belongs_to_ref: usernameAccount.id } : {}),
          },
          ctx,
        ),
      );
    } else skipped.push(`email "${record.email}" is not an email address`);
  }
  if (nonEmpty(record.target_url)) observables.push(buildObservable('url', { value: record.target_url }, ctx));
  for (const field of ['target_domain', 'target_subdomain'] as const) {
    const value = record[field];
    if (!nonEmpty(value)) continue;
    if (isDomainName(value)) observables.push(buildObservable('domain-name', { value }, ctx));
    else skipped.push(`${field} "${value}" is not a domain name`);
  }
  if (nonEmpty(record.mac_address)) {
    const mac = macAddressValue(record.mac_address);
    if (mac) observables.push(buildObservable('mac-addr', { value: mac }, ctx));
    else skipped.push(`mac_address "${record.mac_address}" is not a MAC address`);
  }
  if (nonEmpty(record.user_agent)) observables.push(buildObservable('user-agent', { value: record.user_agent }, ctx));
  for (const ip of record.ip_addresses ?? []) {
    const version = isIP(ip.trim());
    if (version === 4) observables.push(buildObservable('ipv4-addr', { value: ip.trim() }, ctx));
    else if (version === 6) observables.push(buildObservable('ipv6-addr', { value: ip.trim() }, ctx));
    else skipped.push(`ip_addresses entry "${ip}" is not an IP address`);
  }
  if (nonEmpty(record.infected_path)) {
    const { file, directory } = splitInfectedPath(record.infected_path);
    if (file) observables.push(buildObservable('file', { name: file }, ctx));
    if (directory) observables.push(buildObservable('directory', { path: directory }, ctx));
  }
  return { observables, skipped };
}

interface MergedIncident {
  name: string;
  created: string;
  severity: string;
  /** document_id → the record's table, in arrival order. */
  tables: Map<string, string>;
  sources: string[];
}

/**
 * Remembers the incidents of recent records so that records colliding on one Incident id (same email,
 * severity and publish date) are merged, even across pages: the incident is re-sent with every record in its
 * description. Bounded: the oldest incidents are forgotten past `capacity`, so memory stays flat however
 * many records a run reads. SpyCloud returns records by publish date, so colliding records arrive close together.
 */
export class IncidentMerger {
  private readonly incidents = new Map<string, MergedIncident>();

  constructor(private readonly capacity = 5000) {}

  add(id: string, record: BreachRecord, table: string, source: string): MergedIncident {
    let merged = this.incidents.get(id);
    if (merged) this.incidents.delete(id);
    else {
      merged = {
        name: incidentName(record),
        created: publishDate(record).toISOString(),
        severity: SEVERITY_NAMES[record.severity],
        tables: new Map(),
        sources: [],
      };
    }
    merged.tables.set(record.document_id, table);
    if (!merged.sources.includes(source)) merged.sources.push(source);
    this.incidents.set(id, merged);
    while (this.incidents.size > this.capacity) {
      const oldest = this.incidents.keys().next().value;
      if (oldest === undefined) break;
      this.incidents.delete(oldest);
    }
    return merged;
  }

  get size(): number {
    return this.incidents.size;
  }
}

function incidentDescription(merged: MergedIncident): string {
  const tables = [...merged.tables.values()];
  if (tables.length === 1) return tables[0] ?? '';
  const parts = tables.map((table, i) => `#### Breach record ${i + 1} of ${tables.length}\n\n${table}`);
  return `SpyCloud reported ${tables.length} breach records for this alert (same subject, severity and publish date).\n\n${parts.join('\n')}`;
}

export interface PageBundle {
  bundle: StixBundle | null;
  incidents: number;
  skipped: string[];
}

/** The author: CONNECTOR_NAME, an organization (pycti id), in every bundle. */
export function spycloudAuthor(name: string): Identity {
  return buildAuthor(name, AUTHOR_DESCRIPTION);
}

/**
 * One bundle for a page of records: an Incident per record (merged when they collide), its observables, each
 * `related-to` the incident, the author and the TLP marking, every object but the author marked.
 */
export function toStixBundle(
  records: readonly BreachRecord[],
  titles: ReadonlyMap<number, string>,
  o: MappingOptions,
  merger: IncidentMerger = new IncidentMerger(),
): PageBundle {
  if (records.length === 0) return { bundle: null, incidents: 0, skipped: [] };
  const author = spycloudAuthor(o.authorName);
  const base: StixContext = { author, markings: [TLP_MARKING_IDS[o.tlp]], confidence: o.confidence };
  const objects = new Map<string, StixObject>();
  const incidents = new Set<string>();
  const skipped: string[] = [];

  for (const record of records) {
    const id = recordIncidentId(record);
    const source = titles.get(record.source_id) || UNKNOWN_SOURCE;
    const merged = merger.add(id, record, recordTable(record, o.includePasswords), source);
    const ctx: StixContext = { ...base, now: merged.created };
    const incident: Incident = {
      ...buildIncident(
        {
          name: merged.name,
          description: incidentDescription(merged),
          created: merged.created,
          first_seen: merged.created,
          incident_type: 'data-breach',
          severity: merged.severity,
          source: merged.sources.join(', '),
        },
        ctx,
      ),
      // The builder would hash the STIX timestamp; pycti hashes Python's isoformat of the publish date.
      id,
    };
    objects.set(id, incident);
    incidents.add(id);

    const found = recordObservables(record, ctx);
    skipped.push(...found.skipped.map((s) => `${record.document_id}: ${s}`));
    for (const observable of found.observables) {
      objects.set(observable.id, observable);
      const relationship = buildRelationship(
        { relationship_type: 'related-to', source_ref: observable.id, target_ref: id },
        ctx,
      );
      objects.set(relationship.id, relationship);
    }
  }
  return { bundle: assembleBundle({ objects: objects.values(), author }), incidents: incidents.size, skipped };
}
