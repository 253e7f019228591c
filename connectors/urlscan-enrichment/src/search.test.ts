import { readFileSync } from 'node:fs';
import { InputError } from '@cti/connector-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SearchHit, searchSchema } from './client.js';
import {
  buildSearchQuery,
  escapeQueryTerm,
  isActive,
  isScanOf,
  normalizeIp,
  quotePhrase,
  searchKindOf,
  selectHit,
} from './search.js';

const search = searchSchema.parse(
  JSON.parse(readFileSync(new URL('../test/fixtures/search.json', import.meta.url), 'utf8')),
);

const hit = (id: string, time: string | null, status?: string | number): SearchHit =>
  searchSchema.parse({
    results: [{ _id: id, task: time === null ? {} : { time }, page: status === undefined ? {} : { status } }],
  }).results[0] as SearchHit;

describe('buildSearchQuery', () => {
  it('Url: a quoted page.url phrase, never the community connector\'s "domain:url:" query', () => {
    const q = buildSearchQuery('Url', 'https://example.com/login?next=/home', '>now-1y');
    expect(q).toBe('page.url:"https://example.com/login?next=/home" AND date:>now-1y');
    expect(q).not.toContain('domain:');
  });

  it('Url: escapes the characters that would end the phrase', () => {
    expect(buildSearchQuery('Url', 'https://evil.example/a"b\\c', null)).toBe(
      'page.url:"https://evil.example/a\\"b\\\\c"',
    );
    // Operators inside the phrase stay literal: no escaping needed, none added.
    expect(buildSearchQuery('Url', 'http://x.example/?a=1&b=2 OR c:d', null)).toBe(
      'page.url:"http://x.example/?a=1&b=2 OR c:d"',
    );
  });

  it('Url: a URL without a path also matches the form urlscan records, with "/"', () => {
    expect(buildSearchQuery('Url', 'https://example.com', null)).toBe(
      '(page.url:"https://example.com" OR page.url:"https://example.com/")',
    );
    expect(buildSearchQuery('Url', 'https://example.com/', null)).toBe('page.url:"https://example.com/"');
  });

  it('Domain-Name: domain:<domain>, lower-cased, trailing dot removed, reserved characters escaped', () => {
    expect(buildSearchQuery('Domain-Name', 'ayyza.com', '>now-1y')).toBe('domain:ayyza.com AND date:>now-1y');
    expect(buildSearchQuery('Domain-Name', ' Login-Microsoft.Example. ', null)).toBe(
      'domain:login\\-microsoft.example',
    );
    expect(buildSearchQuery('Domain-Name', 'xn--bcher-kva.example', null)).toBe('domain:xn\\-\\-bcher\\-kva.example');
    expect(escapeQueryTerm('a*b?c:d/e(f)')).toBe('a\\*b\\?c\\:d\\/e\\(f\\)');
  });

  it('refuses values that cannot be a query term, without calling anyone', () => {
    expect(() => buildSearchQuery('Domain-Name', 'a.example OR *', null)).toThrow(InputError);
    expect(() => buildSearchQuery('Domain-Name', 'a<b.example', null)).toThrow(/not a domain name/);
    expect(() => buildSearchQuery('Url', 'https://a.example/\nx', null)).toThrow(/control characters/);
    expect(() => buildSearchQuery('StixFile', 'abc', null)).toThrow(
      /Url, Domain-Name, Hostname, IPv4-Addr and IPv6-Addr/,
    );
    expect(() => buildSearchQuery('IPv4-Addr', '1.2.3.4 OR *', null)).toThrow(/not an IP address/);
    expect(() => buildSearchQuery('IPv6-Addr', '2001:db8::/32', null)).toThrow(/not an IP address/);
  });

  it('Hostname: the same domain: search as a Domain-Name', () => {
    expect(buildSearchQuery('Hostname', 'Login.Office365-Login.example.net.', '>now-1y')).toBe(
      'domain:login.office365\\-login.example.net AND date:>now-1y',
    );
    expect(searchKindOf('hostname')).toBe('domain');
  });

  it('IPv4-Addr and IPv6-Addr: a quoted ip: phrase (an IPv6 address is full of colons)', () => {
    expect(buildSearchQuery('IPv4-Addr', ' 203.0.113.10 ', '>now-1y')).toBe('ip:"203.0.113.10" AND date:>now-1y');
    expect(buildSearchQuery('IPv6-Addr', '2001:DB8::10', null)).toBe('ip:"2001:db8::10"');
    expect(searchKindOf('IPv6-Addr')).toBe('ip');
    expect(searchKindOf('StixFile')).toBeNull();
  });

  it('an IP query is one quoted phrase for any address, and refuses anything that is not one', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const q = buildSearchQuery(ip.includes(':') ? 'IPv6-Addr' : 'IPv4-Addr', ip, null);
        expect(q).toBe(`ip:"${ip.toLowerCase()}"`);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (junk) => {
        fc.pre(normalizeIp(junk) === null);
        expect(() => buildSearchQuery('IPv4-Addr', junk, null)).toThrow(InputError);
      }),
    );
  });

  it('is what the Search API receives once URL-encoded', () => {
    const q = buildSearchQuery('Url', 'https://example.com/a b+c&d=e#f', '>now-7d');
    const sent = new URL(`https://urlscan.io/api/v1/search/?${new URLSearchParams({ q, size: '10' })}`);
    expect(sent.search).not.toMatch(/[ "#]/);
    expect(sent.searchParams.get('q')).toBe(q);
    expect(quotePhrase('plain')).toBe('"plain"');
  });
});

describe('selectHit', () => {
  it('takes the newest hit of the real search answer', () => {
    expect(selectHit(search.results, false)?._id).toBe('bb3f2cf4-96ef-4e4d-b5f5-f14740c6728f');
  });

  it('reads the status urlscan sends as a string (and tolerates a number)', () => {
    expect(search.results.every(isActive)).toBe(true);
    expect(isActive(hit('a', null, '200'))).toBe(true);
    expect(isActive(hit('a', null, 200))).toBe(true);
    expect(isActive(hit('a', null, '404'))).toBe(false);
    expect(isActive(hit('a', null))).toBe(false);
  });

  it('with ONLY_ACTIVE_URLS, skips newer scans of pages that did not answer 200', () => {
    const hits = [
      hit('new-404', '2024-03-01T00:00:00Z', '404'),
      hit('mid-200', '2024-02-01T00:00:00Z', '200'),
      hit('old-200', '2024-01-01T00:00:00Z', '200'),
    ];
    expect(selectHit(hits, false)?._id).toBe('new-404');
    expect(selectHit(hits, true)?._id).toBe('mid-200');
    expect(selectHit([hits[0] as SearchHit], true)).toBeNull();
    expect(selectHit([], false)).toBeNull();
  });

  it('orders by scan time, whatever order the answer has', () => {
    const hits = [
      hit('undated', null, '200'),
      hit('old', '2023-01-01T00:00:00Z', '200'),
      hit('new', '2024-01-01T00:00:00Z', '200'),
    ];
    expect(selectHit(hits, false)?._id).toBe('new');
    expect(selectHit([hit('undated-1', null), hit('undated-2', null)], false)?._id).toBe('undated-1');
  });

  it('for a Domain-Name, reads the newest scan of a page on it, not of a site that only contacted it', () => {
    const scanOf = (id: string, time: string, domain: string) =>
      searchSchema.parse({ results: [{ _id: id, task: { time, domain }, page: { domain, status: '200' } }] })
        .results[0] as SearchHit;
    const hits = [
      scanOf('shop-loading-the-cdn', '2024-03-01T00:00:00Z', 'phish.example'),
      scanOf('cdn-subdomain', '2024-02-01T00:00:00Z', 'assets.cdn.example'),
      scanOf('cdn-itself', '2024-01-01T00:00:00Z', 'cdn.example'),
    ];
    expect(selectHit(hits, false)?._id).toBe('shop-loading-the-cdn');
    expect(selectHit(hits, false, 'cdn.example')?._id).toBe('cdn-subdomain');
    expect(selectHit(hits.slice(0, 1), false, 'cdn.example')).toBeNull();
    expect(isScanOf(scanOf('x', '2024-01-01T00:00:00Z', 'notcdn.example'), 'cdn.example')).toBe(false);
    // The real answer for ayyza.com: scans of ayyza.com and of client.ayyza.com, all kept.
    expect(search.results.filter((h) => isScanOf(h, 'ayyza.com'))).toHaveLength(6);
    expect(isScanOf(hit('no-domain', null), 'cdn.example')).toBe(true);
  });
});
