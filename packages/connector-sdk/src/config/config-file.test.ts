/** config.yml: where it is found, how each key reaches its setting's schema, and what a bad file says. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../errors/index.js';
import { clearRegisteredSecrets, redactString } from '../log/redact.js';
import { baseConfig } from './base.js';
import {
  type ConfigFile,
  locateConfigFile,
  MAX_CONFIG_FILE_BYTES,
  parseConfigText,
  readConfigFile,
} from './config-file.js';
import { env } from './fields.js';
import { type ConfigShape, ignoredFileKeys, loadConfig } from './load.js';
import { yamlKeyOf, yamlKeys } from './yaml-keys.js';

const PATH = '/app/config.yml';
const file = (text: string): ConfigFile => parseConfigText(text, PATH);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** A vendor's settings of every kind, as a connector declares them. */
const SHAPE = {
  VENDOR_KEY: env.secret({ description: 'key' }),
  VENDOR_NAME: env.string({ default: 'Vendor' }),
  VENDOR_RETRIES: env.int({ default: 3, min: 0, max: 10 }),
  VENDOR_RATE: env.number({ default: 1, min: 0 }),
  VENDOR_ENABLED: env.boolean(false),
  VENDOR_MAX_TLP: env.tlp('TLP:AMBER'),
  VENDOR_TYPES: env.list({ allowed: ['a', 'b', 'c'] }),
  VENDOR_PERIOD: env.duration({ default: 'PT1H' }),
  MULTI_WORD_SECTION_URL: env.url({ default: 'https://vendor.example', yaml: ['multi_word_section.url'] }),
} satisfies ConfigShape;

const load = (text: string, environment: Record<string, string> = {}) =>
  loadConfig(SHAPE, { env: environment, dotenvPath: false, file: file(text) });

afterEach(() => clearRegisteredSecrets());

describe('the config.yml key of a setting', () => {
  it('is the env name with its first "_" a dot, lower case: pycti connectors name both so', () => {
    expect(yamlKeyOf('OPENCTI_URL')).toBe('opencti.url');
    expect(yamlKeyOf('CONNECTOR_ID')).toBe('connector.id');
    expect(yamlKeyOf('CROWDSEC_KEY')).toBe('crowdsec.key');
    expect(yamlKeyOf('CONNECTOR_DURATION_PERIOD')).toBe('connector.duration_period');
    expect(yamlKeyOf('SPYCLOUD_API_BASE_URL')).toBe('spycloud.api_base_url');
    expect(yamlKeyOf('MQ_USE_SSL_CA')).toBe('mq.use_ssl_ca');
    expect(yamlKeyOf('NOUNDERSCORE')).toBeUndefined();
    expect(yamlKeyOf('_LEADING')).toBeUndefined();
    expect(yamlKeyOf('TRAILING_')).toBeUndefined();
  });

  it('maps back to the env name: upper case, the dot an "_" (the rule docs/migrating.md states)', () => {
    const envName = fc
      .tuple(
        fc.stringMatching(/^[A-Z][A-Z0-9]{0,8}$/),
        fc.array(fc.stringMatching(/^[A-Z0-9]{1,8}$/), { minLength: 1, maxLength: 5 }),
      )
      .map(([head, rest]) => [head, ...rest].join('_'));
    fc.assert(
      fc.property(envName, (name) => {
        const key = yamlKeyOf(name);
        expect(key).toMatch(/^[a-z][a-z0-9]*\.[a-z0-9_]+$/);
        expect(key?.toUpperCase().replace('.', '_')).toBe(name);
      }),
    );
  });

  it('is the declared one where upstream differs, and a declared key must look like one', () => {
    expect(yamlKeys('MULTI_WORD_SECTION_URL', SHAPE.MULTI_WORD_SECTION_URL)).toEqual(['multi_word_section.url']);
    expect(yamlKeys('VENDOR_KEY', SHAPE.VENDOR_KEY)).toEqual(['vendor.key']);
    expect(() => env.string({ yaml: ['Vendor.Key'] })).toThrow(/not a config.yml key/);
    expect(() => env.string({ yaml: ['nodot'] })).toThrow(/not a config.yml key/);
  });
});

describe('values from config.yml', () => {
  it('go through the same schemas as the environment: numbers, booleans, TLP, lists, durations', () => {
    const cfg = load(
      [
        'vendor:',
        '  key: "k-123"',
        '  retries: 7',
        '  rate: 0.5',
        '  enabled: yes',
        '  max_tlp: TLP:GREEN',
        '  types: [a, c]',
        '  period: P1D',
        'multi_word_section:',
        '  url: http://proxy.example/',
      ].join('\n'),
    );
    expect(cfg).toMatchObject({
      VENDOR_KEY: 'k-123',
      VENDOR_NAME: 'Vendor',
      VENDOR_RETRIES: 7,
      VENDOR_RATE: 0.5,
      VENDOR_ENABLED: true,
      VENDOR_MAX_TLP: 'TLP:GREEN',
      VENDOR_TYPES: ['a', 'c'],
      VENDOR_PERIOD: 86_400,
      MULTI_WORD_SECTION_URL: 'http://proxy.example',
    });
    expect(load('vendor:\n  key: k\n  types: "b,a"').VENDOR_TYPES).toEqual(['b', 'a']);
  });

  it('are read as written: a plain 0123 is not 123 (or 83), 0x10 and 1e3 are refused as in the environment', () => {
    expect(load('vendor:\n  key: 0123').VENDOR_KEY).toBe('0123');
    expect(load('vendor:\n  key: k\n  name: 1e3').VENDOR_NAME).toBe('1e3');
    const hex = configError(() => load('vendor:\n  key: k\n  retries: 0x10'));
    expect(hex.issues).toEqual([
      { variable: 'VENDOR_RETRIES', source: `vendor.retries in ${PATH}, line 3`, message: 'expected a whole number' },
    ]);
    expect(configError(() => load('vendor:\n  key: k\n  rate: .inf')).issues[0]?.message).toBe('expected a number');
  });

  it('a key set to nothing (key:, ~, null) is unset: the default, or the required error naming the key', () => {
    expect(load('vendor:\n  key: k\n  retries:\n  name: ~').VENDOR_RETRIES).toBe(3);
    const err = configError(() => load('vendor:\n  key: null'));
    expect(err.issues).toEqual([{ variable: 'VENDOR_KEY', message: 'is required (or vendor.key in config.yml)' }]);
  });

  it('the environment wins over the file, key by key; an empty variable counts as unset', () => {
    const cfg = load('vendor:\n  key: from-file\n  retries: 9\n  name: File', {
      VENDOR_RETRIES: '2',
      VENDOR_NAME: ' ',
    });
    expect(cfg).toMatchObject({ VENDOR_KEY: 'from-file', VENDOR_RETRIES: 2, VENDOR_NAME: 'File' });
    // A bad value in the file is not an error when the environment overrides it.
    expect(load('vendor:\n  key: k\n  retries: many', { VENDOR_RETRIES: '1' }).VENDOR_RETRIES).toBe(1);
  });

  it('property: a value in the file gives what the same value in the environment gives', () => {
    const settings = Object.keys(SHAPE).filter((k) => k !== 'MULTI_WORD_SECTION_URL') as (keyof typeof SHAPE)[];
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.constantFrom(
        'true',
        'No',
        'ON',
        '0',
        '-1',
        '10',
        '11',
        '1.5',
        'amber+strict',
        'TLP:RED',
        'a,b',
        'PT5M',
        'P200Y',
      ),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
    );
    const outcome = (fn: () => Record<string, unknown>): { ok: unknown } | { problems: string[] } => {
      try {
        return { ok: fn() };
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return { problems: err.issues.map((i) => `${i.variable}: ${i.message}`) };
      }
    };
    fc.assert(
      fc.property(fc.constantFrom(...settings), text, fc.boolean(), (name, value, plain) => {
        const key = yamlKeys(name, SHAPE[name])[0] ?? '';
        const [section, field] = key.split('.');
        const base = name === 'VENDOR_KEY' ? {} : { VENDOR_KEY: 'k' };
        // Quoted as the yaml package writes a string, or plain where YAML reads it back as the same text.
        const yamlText =
          plain &&
          /^[A-Za-z0-9+.][A-Za-z0-9+.-]*(?::[A-Za-z0-9+.-]+)*$/.test(value) &&
          !/^(null|Null|NULL)$/.test(value)
            ? `${section}:\n  ${field}: ${value}\n`
            : stringify({ [section as string]: { [field as string]: value } });
        clearRegisteredSecrets();
        const fromFile = outcome(() => loadConfig(SHAPE, { env: base, dotenvPath: false, file: file(yamlText) }));
        clearRegisteredSecrets();
        const fromEnv = outcome(() => loadConfig(SHAPE, { env: { ...base, [name]: value }, dotenvPath: false }));
        expect(fromFile).toEqual(
          'problems' in fromEnv
            ? {
                problems: fromEnv.problems.map((p) =>
                  p.replace(/is required$/, `is required (or ${key} in config.yml)`),
                ),
              }
            : fromEnv,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('property: whatever both say, the environment wins', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), (inEnv, inFile) => {
        const cfg = load(`vendor:\n  key: k\n  retries: ${inFile}`, { VENDOR_RETRIES: String(inEnv) });
        expect(cfg.VENDOR_RETRIES).toBe(inEnv);
      }),
    );
  });

  it('a list where one value is expected, a mapping, a list item with a comma: errors naming the key', () => {
    const err = configError(() => load('vendor:\n  key: k\n  name: [a, b]\n  retries: {a: 1}\n  types: ["a,b", c]'));
    expect(err.issues).toEqual([
      {
        variable: 'VENDOR_NAME',
        source: `vendor.name in ${PATH}, line 3`,
        message: 'is a list; expected a single value',
      },
      {
        variable: 'VENDOR_RETRIES',
        source: `vendor.retries in ${PATH}, line 4`,
        message: 'is a mapping; expected a value',
      },
      { variable: 'VENDOR_TYPES', source: `vendor.types in ${PATH}, line 5`, message: 'a list item holds a comma' },
    ]);
  });

  it('a secret from the file is masked like one from the environment, and never in an error', () => {
    const secret = 'FILE-SECRET+/=9a4c';
    load(`vendor:\n  key: '${secret}'`);
    expect(redactString(`sent ${secret}`)).not.toContain(secret);
    clearRegisteredSecrets();
    // Pasted into a setting that is no secret, it is not echoed in that setting's error either.
    const err = configError(() => load(`vendor:\n  key: '${secret}'\n  retries: '${secret}'`));
    expect(err.message).not.toContain(secret);
    expect(err.message).not.toContain('FILE-SECRET');
  });

  it('an unknown key or section is an error naming the key, the file and the line', () => {
    const err = configError(() => load('vendor:\n  key: k\n  kye: k\n  Name: x\nvendr:\n  key: k'));
    expect(err.issues).toEqual([
      {
        variable: 'vendor.kye',
        source: `${PATH}, line 3`,
        message: 'is not a setting of this connector (--help lists every setting and its config.yml key)',
      },
      {
        variable: 'vendor.Name',
        source: `${PATH}, line 4`,
        message: 'is not a setting: keys are lower case (vendor.name)',
      },
      {
        variable: 'vendr.key',
        source: `${PATH}, line 6`,
        message: 'is not a setting of this connector: its sections are vendor, multi_word_section',
      },
    ]);
    expect(err.message).toContain(`vendor.kye (${PATH}, line 3): is not a setting`);
  });

  it('a key that holds a value ("key:value" with no space, in {...}) is refused without being quoted', () => {
    // In a flow mapping `{key:value}` is one key, `key:value`, set to null: naming it named the secret.
    for (const text of [
      'vendor: {key:SECRET-IN-FILE}\n',
      'vendor: {name: x, key:SECRET-IN-FILE}\n',
      'vendor:\n  key SECRET-IN-FILE: x\n',
      'vendor:\n  "key=SECRET-IN-FILE": x\n',
      '{vendor:SECRET-IN-FILE}\n',
      'vendor:SECRET-IN-FILE: x\n',
    ]) {
      const err = configError(() => load(text));
      expect(err.message).not.toContain('SECRET-IN-FILE');
      expect(err.message).toMatch(/not a setting|expected a mapping of settings|VENDOR_KEY: is required/);
    }
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (junk) => {
        const marked = `vendor: {key:ZQX${junk.replace(/[{}[\],:#"'\n\r]/g, '')}ZQX}\n`;
        try {
          load(marked);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          expect(err.message).not.toContain('ZQX');
        }
      }),
      { numRuns: 200 },
    );
  });

  it("pycti's helper keys no setting reads are not errors: reported to be ignored", () => {
    const shape = { ...baseConfig };
    const f = file(
      'opencti:\n  url: http://o:8080\n  token: t\nconnector:\n  id: i\n  name: Name\n  metrics_namespace: cti\n  live_stream_id:\n',
    );
    const cfg = loadConfig(shape, { env: {}, dotenvPath: false, file: f });
    expect(cfg.OPENCTI_URL).toBe('http://o:8080');
    expect(ignoredFileKeys(shape, f).sort()).toEqual(['connector.live_stream_id', 'connector.metrics_namespace']);
  });

  it("reads the delivery settings from pycti's keys (send to directory, review before import)", () => {
    const shape = { ...baseConfig };
    const f = file(
      'opencti:\n  url: http://o:8080\n  token: t\nconnector:\n  id: i\n  name: Name\n  validate_before_import: true\n' +
        '  send_to_queue: false\n  send_to_directory: true\n  send_to_directory_path: /data/bundles\n' +
        '  send_to_directory_retention: 3\n',
    );
    const cfg = loadConfig(shape, { env: {}, dotenvPath: false, file: f });
    expect(cfg).toMatchObject({
      CONNECTOR_VALIDATE_BEFORE_IMPORT: true,
      CONNECTOR_SEND_TO_QUEUE: false,
      CONNECTOR_SEND_TO_DIRECTORY: true,
      CONNECTOR_SEND_TO_DIRECTORY_PATH: '/data/bundles',
      CONNECTOR_SEND_TO_DIRECTORY_RETENTION: 3,
    });
    expect(ignoredFileKeys(shape, f)).toEqual([]);
  });

  it('a fallback (a dry run stand-in) is beneath the file', () => {
    const cfg = loadConfig(SHAPE, {
      env: {},
      dotenvPath: false,
      file: file('vendor:\n  key: from-file'),
      fallback: { VENDOR_KEY: 'stand-in', VENDOR_NAME: 'Stand-in' },
    });
    expect(cfg).toMatchObject({ VENDOR_KEY: 'from-file', VENDOR_NAME: 'Stand-in' });
  });
});

describe('a config.yml that is not a config', () => {
  const secretLine = 'vendor:\n  key: "SECRET-IN-FILE\\q"\n';
  it.each([
    ['a bad escape (the line holds a secret)', secretLine, 'line 2', 'invalid escape sequence'],
    ['a tab for indentation', 'vendor:\n\tkey: SECRET-IN-FILE\n', 'line 2', 'is not valid YAML'],
    ['a key twice', 'vendor:\n  key: SECRET-IN-FILE\n  key: other\n', 'line 3', 'a key given twice'],
    ['an unclosed quote', "vendor:\n  key: 'SECRET-IN-FILE\n", 'line', 'is not valid YAML'],
    ['two documents', 'vendor:\n  key: SECRET-IN-FILE\n---\nx: 1\n', 'line', 'several YAML documents'],
    ['an unknown tag', 'vendor:\n  key: !vault SECRET-IN-FILE\n', 'line 2', 'tag'],
    [
      'values nested thousands deep',
      `vendor:\n  key: ${'['.repeat(5000)}SECRET-IN-FILE${']'.repeat(5000)}\n`,
      'line 2',
      'nested too deeply',
    ],
    [
      'an alias with no anchor (an unquoted value starting with *)',
      'vendor:\n  key: *SECRET-IN-FILE\n',
      'line 2',
      'alias',
    ],
  ])('%s: an error naming the file and the line, quoting nothing', (_, text, where, what) => {
    const err = configError(() => file(text));
    expect(err.issues[0]?.variable).toBe('config.yml');
    expect(err.issues[0]?.source).toContain(`${PATH}, ${where}`);
    expect(err.message).toContain(what);
    expect(err.message).not.toContain('SECRET-IN-FILE');
  });

  it.each([
    ['a list at the top', '- a\n- b\n', 'expected sections such as "opencti:"'],
    ['a scalar at the top', 'just text\n', 'expected sections such as "opencti:"'],
    ['a section that is a value', 'vendor: SECRET-IN-FILE\n', 'expected a mapping of settings'],
    ['a section that is a list', 'vendor:\n  - SECRET-IN-FILE\n', 'expected a mapping of settings'],
  ])('%s: an error naming the file and the line', (_, text, what) => {
    const err = configError(() => file(text));
    expect(err.issues[0]?.source).toMatch(new RegExp(`^${PATH}, line \\d+$`));
    expect(err.message).toContain(what);
    expect(err.message).not.toContain('SECRET-IN-FILE');
  });

  it('property: any text is a ConfigError or a file, never a crash or an echo of the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const marked = `vendor:\n  key: ZQX${text}ZQX\n${text}`;
        try {
          const f = file(marked);
          expect(f.path).toBe(PATH);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as Error).message).not.toContain('ZQX');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an alias bomb within the size cap is read in one pass: each alias is its latest anchor, nothing expanded', () => {
    // Each alias once cost a walk of the whole document: 30 000 aliases (90 KB) took minutes, 1 MiB of them hours.
    const count = 30_000;
    const text = `vendor:\n  name: &n first\n  types: [${Array(count).fill('*n').join(',')}]\n  period: &n PT2H\n  key: *n\n`;
    const values = file(text).values;
    expect(values.get('vendor.types')).toMatchObject({ kind: 'list', items: Array(count).fill('first') });
    expect(values.get('vendor.key')).toMatchObject({ kind: 'text', text: 'PT2H' });
    const laughs = ['lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [i, name] of [...'bcdefghi'].entries())
      laughs.push(`${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`);
    const bomb = configError(() => file(`${laughs.join('\n')}\nvendor:\n  types: *i\n`));
    expect(bomb.message).toContain('expected a mapping of settings');
  }, 60_000);

  it('a file of many keys within the size cap is read in one pass; a key given twice is still found', () => {
    // The parser's duplicate-key check compares each key with every other: 80 000 keys took over half a minute.
    const keys = Array.from({ length: 80_000 }, (_, i) => `  k${i}: v`);
    expect(file(`vendor:\n${keys.join('\n')}\n`).values.size).toBe(80_000);
    const twice = configError(() => file(`vendor:\n${keys.join('\n')}\n  k7: SECRET-IN-FILE\n`));
    expect(twice.issues).toEqual([
      {
        variable: 'config.yml',
        source: `${PATH}, line 80002, column 3`,
        message: 'is not valid YAML: a key given twice in the same mapping',
      },
    ]);
  }, 15_000);

  it('an empty file, or one with comments only, sets nothing', () => {
    expect(file('').values.size).toBe(0);
    expect(file('# nothing yet\n').values.size).toBe(0);
    expect(file('\uFEFFvendor:\n  key: k\n').values.get('vendor.key')).toMatchObject({ text: 'k' });
  });
});

describe('finding config.yml', () => {
  const root = mkdtempSync(join(tmpdir(), 'cti-config-yml-'));
  const dist = join(root, 'connector', 'dist');
  mkdirSync(dist, { recursive: true });
  const main = join(dist, 'main.js');

  it('next to the entry point first, else in its parent folder (the connector folder, /app in the image)', () => {
    expect(locateConfigFile(main)).toBeUndefined();
    writeFileSync(join(root, 'connector', 'config.yml'), 'a:\n  b: 1\n');
    expect(locateConfigFile(main)).toBe(join(root, 'connector', 'config.yml'));
    writeFileSync(join(dist, 'config.yml'), 'a:\n  b: 2\n');
    expect(locateConfigFile(main)).toBe(join(dist, 'config.yml'));
  });

  it('a file that cannot be read, is too large or is not UTF-8: an error naming it', () => {
    expect(configError(() => readConfigFile(join(root, 'absent.yml'))).message).toContain(
      `config.yml (${join(root, 'absent.yml')}): cannot be read (ENOENT)`,
    );
    const big = join(root, 'big.yml');
    writeFileSync(big, `# ${'x'.repeat(MAX_CONFIG_FILE_BYTES)}\n`);
    expect(configError(() => readConfigFile(big)).message).toContain('is larger than 1024 KiB');
    expect(configError(() => readConfigFile(dist)).message).toContain('cannot be read (EISDIR)');
    const latin1 = join(root, 'latin1.yml');
    writeFileSync(latin1, Buffer.from('vendor:\n  name: caf\xe9\n', 'latin1'));
    expect(configError(() => readConfigFile(latin1)).message).toContain('is not UTF-8 text');
    const utf8 = join(root, 'utf8.yml');
    writeFileSync(utf8, 'vendor:\n  name: "caf\u00e9 \ufffd"\n');
    expect(readConfigFile(utf8).values.get('vendor.name')).toMatchObject({ text: 'caf\u00e9 \ufffd' });
  });
});
