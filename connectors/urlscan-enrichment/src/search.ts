/**
 * The urlscan.io Search API query for an observable, and the choice of the one scan to read.
 * urlscan's `q` is an Elasticsearch query string: a value must be quoted or escaped, or a URL's `:` and
 * `/` become query syntax (the community connector's `domain:url:<url>` query is the bug this replaces).
 */
import { isIP } from 'node:net';
import { InputError } from '@cti/connector-sdk';
import type { SearchHit } from './client.js';

/** Hits asked for: the newest few are enough to pick one; ONLY_ACTIVE_URLS looks a little further back. */
export const SEARCH_SIZE = 10;
export const SEARCH_SIZE_ACTIVE_ONLY = 50;
/** Scans that contacted an IP: the newest ones listed in the note and mapped (a busy CDN address has millions). */
export const IP_SEARCH_SIZE = 20;

/** How an observable type is looked up: a page URL, a domain (Domain-Name, Hostname), or an address. */
export type SearchKind = 'url' | 'domain' | 'ip';

/** The search kind of an OpenCTI entity type, or null when urlscan.io has nothing to say about it. */
export function searchKindOf(entityType: string): SearchKind | null {
  switch (entityType.toLowerCase()) {
    case 'url':
      return 'url';
    case 'domain-name':
    case 'hostname':
      return 'domain';
    case 'ipv4-addr':
    case 'ipv6-addr':
      return 'ip';
    default:
      return null;
  }
}

/** Characters with a meaning in an Elasticsearch query string, escaped with a backslash in a bare term. */
const RESERVED = /[+\-=&|!(){}[\]^"~*?:\\/]/g;

/** A bare query term: reserved characters escaped. `<` and `>` cannot be escaped in a query string. */
export function escapeQueryTerm(value: string): string {
  if (/[<>\s]/.test(value) || value.length === 0) {
    throw new InputError(`Cannot search urlscan.io for "${value}": not a domain name`);
  }
  return value.replace(RESERVED, '\\$&');
}

/** A quoted phrase: inside quotes only `"` and `\` need escaping. */
export function quotePhrase(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** C0 controls and DEL: never part of a URL or a domain, and they would break the query. */
export function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** A domain as urlscan indexes it: lower case, no trailing dot. */
export function normalizeDomain(value: string): string {
  return value.trim().toLowerCase().replace(/\.$/, '');
}

/** An IP address as urlscan indexes it (IPv6 in lower case), or null when `value` is not one. */
export function normalizeIp(value: string): string | null {
  const trimmed = value.trim();
  return isIP(trimmed) === 0 ? null : trimmed.toLowerCase();
}

/**
 * The `q` of the Search API for an observable:
 * - Url: `page.url:"<url>"` (a URL without a path also matches the same URL with `/`, as urlscan records it);
 * - Domain-Name, Hostname: `domain:<domain>`;
 * - IPv4-Addr, IPv6-Addr: `ip:"<address>"` (every scan whose page contacted the address; quoted, an IPv6
 *   address is full of `:`), the official connector's search;
 * then `AND date:<filter>` when a date filter is set.
 */
export function buildSearchQuery(entityType: string, value: string, dateFilter: string | null): string {
  const trimmed = value.trim();
  if (hasControlCharacters(trimmed) || trimmed.length === 0) {
    throw new InputError(`Cannot search urlscan.io for ${JSON.stringify(value)}: empty or control characters`);
  }
  let query: string;
  switch (searchKindOf(entityType)) {
    case 'url': {
      const variants = [trimmed];
      if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]+$/i.test(trimmed)) variants.push(`${trimmed}/`);
      const terms = variants.map((v) => `page.url:${quotePhrase(v)}`);
      query = terms.length === 1 ? (terms[0] as string) : `(${terms.join(' OR ')})`;
      break;
    }
    case 'domain':
      query = `domain:${escapeQueryTerm(normalizeDomain(trimmed))}`;
      break;
    case 'ip': {
      const ip = normalizeIp(trimmed);
      if (ip === null) throw new InputError(`Cannot search urlscan.io for ${JSON.stringify(value)}: not an IP address`);
      query = `ip:${quotePhrase(ip)}`;
      break;
    }
    default:
      throw new InputError(
        `urlscan.io enrichment handles Url, Domain-Name, Hostname, IPv4-Addr and IPv6-Addr observables, not ${entityType}`,
      );
  }
  return dateFilter === null ? query : `${query} AND date:${dateFilter}`;
}

/** Whether the scanned page answered HTTP 200 (urlscan sends the status as a string in search hits). */
export function isActive(hit: SearchHit): boolean {
  const status = hit.page?.status;
  return status !== undefined && status !== null && String(status).trim() === '200';
}

/**
 * Hits ordered by scan time, newest first. urlscan returns them so; they are ordered again so a reordered
 * answer cannot pass an old scan for the newest (hits without a time keep their place after the dated ones).
 */
export function newestFirst(hits: readonly SearchHit[]): SearchHit[] {
  return hits
    .map((hit, index) => ({ hit, index, time: timeOf(hit) }))
    .sort((a, b) => (b.time === a.time ? a.index - b.index : b.time > a.time ? 1 : -1))
    .map((entry) => entry.hit);
}

function timeOf(hit: SearchHit): number {
  const t = Date.parse(hit.task?.time ?? '');
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

/**
 * Whether a hit is a scan of a page on `domain` or one of its subdomains. urlscan's `domain:` field also
 * matches scans of other sites that merely loaded something from the domain (a CDN, an analytics
 * script): their verdicts are about those sites, not this domain. A hit that names no domain is kept.
 */
export function isScanOf(hit: SearchHit, domain: string): boolean {
  const scanned = [hit.page?.domain, hit.task?.domain].filter((d): d is string => typeof d === 'string' && d !== '');
  if (scanned.length === 0) return true;
  return scanned.some((d) => {
    const host = normalizeDomain(d);
    return host === domain || host.endsWith(`.${domain}`);
  });
}

/**
 * The scan to read: the newest hit, or the newest whose page answered 200 when `onlyActive`, and for a
 * Domain-Name (`domain` given) the newest scan of a page on that domain. urlscan returns hits newest
 * first; they are ordered by scan time again so a reordered answer cannot pick an old scan (hits without
 * a time keep their place after the dated ones).
 */
export function selectHit(
  hits: readonly SearchHit[],
  onlyActive: boolean,
  domain: string | null = null,
): SearchHit | null {
  return (
    newestFirst(hits).find((hit) => (!onlyActive || isActive(hit)) && (domain === null || isScanOf(hit, domain))) ??
    null
  );
}
