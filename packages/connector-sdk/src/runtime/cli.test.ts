import { describe, expect, it } from 'vitest';
import { parseCommand } from './cli.js';
import { guessEntityType } from './entity.js';

describe('parseCommand', () => {
  it.each([
    [[], { kind: 'daemon' }],
    [['daemon'], { kind: 'daemon' }],
    [['enrich', '1.2.3.4'], { kind: 'enrich', value: '1.2.3.4', type: null, tlp: null }],
    [
      ['enrich', 'example.com', '--type', 'Domain-Name'],
      { kind: 'enrich', value: 'example.com', type: 'Domain-Name', tlp: null },
    ],
    [['import', '--dry-run'], { kind: 'import', state: null }],
    [['import', '--dry-run', '--state', '{"a":1}'], { kind: 'import', state: '{"a":1}' }],
    [['--help'], { kind: 'help' }],
    [['-v'], { kind: 'version' }],
  ])('%j', (argv, expected) => {
    expect(parseCommand(argv)).toEqual(expected);
  });

  it.each([[['enrich']], [['import']], [['frobnicate']], [['--nope']]])('rejects %j', (argv) => {
    expect(() => parseCommand(argv)).toThrow();
  });
});

describe('guessEntityType', () => {
  it.each([
    ['8.8.8.8', 'IPv4-Addr'],
    ['2001:db8::1', 'IPv6-Addr'],
    ['https://example.com/login', 'Url'],
    ['example.com', 'Domain-Name'],
    ['user@example.com', 'Email-Addr'],
  ])('%s is %s', (value, type) => {
    expect(guessEntityType(value)).toBe(type);
  });

  it('asks for --type when it cannot tell', () => {
    expect(() => guessEntityType('not a thing')).toThrow(/--type/);
  });
});
