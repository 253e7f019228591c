/**
 * CONNECTOR_SEND_TO_DIRECTORY's files: pycti's names, the retention (setting, cutoff, deletion), the atomic
 * write (no reader ever sees a partial `.json`), and a write that fails naming the setting. On the real
 * file system of the machine.
 */
import { mkdtemp, open, readdir, readFile, rm, rmdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, loadConfig } from '../../config/index.js';
import { ConfigError, DeliveryError } from '../../errors/index.js';
import { createLogger } from '../../log/index.js';
import type { StixBundle } from '../../stix/index.js';
import {
  bundleFileName,
  connectorNameProblem,
  DirectoryOutput,
  pythonFloatText,
  retentionCutoffMs,
} from './directory.js';

const DAY_MS = 86_400_000;
const RETENTION = 'CONNECTOR_SEND_TO_DIRECTORY_RETENTION';
const logger = createLogger({ name: 'directory-test', level: 'error', destination: { write: () => undefined } });
const connector = {
  id: 'c0ffee00-0000-4000-8000-000000000001',
  name: 'My Feed',
  type: 'EXTERNAL_IMPORT',
  scope: 'ipv4-addr',
  auto: false,
  validateBeforeImport: false,
};
const directories: string[] = [];

afterEach(async () => {
  await Promise.all(directories.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cti-directory-'));
  directories.push(dir);
  return dir;
}

function bundleOf(count: number, padding = 0): StixBundle {
  const objects = Array.from({ length: count }, (_, i) => ({
    type: 'ipv4-addr',
    spec_version: '2.1',
    id: `ipv4-addr--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
    value: `10.0.${Math.floor(i / 256) % 256}.${i % 256}`,
    ...(padding > 0 ? { x_padding: 'x'.repeat(padding) } : {}),
  }));
  return { type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000000', objects } as unknown as StixBundle;
}

function retentionOf(raw: string | undefined): number {
  const env: Record<string, string> = {
    OPENCTI_URL: 'http://x',
    OPENCTI_TOKEN: 't',
    CONNECTOR_ID: 'i',
    CONNECTOR_NAME: 'nn',
  };
  if (raw !== undefined) env[RETENTION] = raw;
  return loadConfig(baseConfig, { env, dotenvPath: false })[RETENTION];
}

describe('CONNECTOR_SEND_TO_DIRECTORY_RETENTION', () => {
  it('defaults to 7 days, as pycti', () => {
    expect(retentionOf(undefined)).toBe(7);
    expect(retentionOf('0')).toBe(0);
  });

  it('accepts every whole number of days from 0, and refuses anything else naming the setting', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String)), (raw) => {
        fc.pre(raw.trim() !== '');
        let days: number;
        try {
          days = retentionOf(raw);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).message).toContain(`${RETENTION}: `);
          // Never echoes the value (it could be a secret pasted in the wrong place).
          if (raw.trim().length > 3)
            expect((err as ConfigError).issues[0]?.message).not.toContain(raw.trim().slice(0, 30));
          return;
        }
        expect(Number.isSafeInteger(days)).toBe(true);
        expect(days).toBeGreaterThanOrEqual(0);
        expect(raw.trim()).toMatch(/^\+?\d+$|^-0+$/);
      }),
    );
  });

  it('refuses negative, fractional, overflowing and encoded values', () => {
    for (const raw of ['-1', '1.5', '7d', '0x7', '1e1', '%37', '9007199254740993', '７']) {
      expect(() => retentionOf(raw)).toThrow(new RegExp(`${RETENTION}: `));
    }
  });
});

describe('retentionCutoffMs', () => {
  it('is null (keep everything) for 0 and for a retention reaching before the epoch; else now minus the days', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8_640_000_000_000_000 }), fc.maxSafeNat(), (now, days) => {
        const cutoff = retentionCutoffMs(now, days);
        if (days === 0 || now - days * DAY_MS <= 0) expect(cutoff).toBeNull();
        else {
          expect(cutoff).toBe(now - days * DAY_MS);
          expect(cutoff).toBeLessThan(now);
        }
      }),
    );
  });
});

describe('file names', () => {
  it("are pycti's: name lower-cased with _ for spaces, local YYYYmmdd-HHMMSS, then Python's float of the epoch", () => {
    const at = new Date(2026, 11, 7, 3, 4, 5, 250).getTime();
    expect(bundleFileName('My Feed', at)).toBe(`my_feed-20261207-030405-${at / 1000}.json`);
    expect(bundleFileName('Whole', 1_765_000_000_000)).toMatch(/-1765000000\.0\.json$/);
    expect(bundleFileName('a/b\\c', 0)).toMatch(/^a_b_c-/);
  });

  it('property: a CONNECTOR_NAME accepted gives names within 255 bytes at any instant; a longer one is refused', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 120 }),
        fc.double({ min: 1e12, max: 9_999_999_999_999, noNaN: true }),
        (name, epochMs) => {
          const bytes = Buffer.byteLength(`${bundleFileName(name, epochMs)}.tmp`);
          if (connectorNameProblem(name) === null) expect(bytes).toBeLessThanOrEqual(255);
          if (bytes > 255) expect(connectorNameProblem(name)).toMatch(/too long for the bundle file names/);
        },
      ),
      { numRuns: 500 },
    );
    expect(connectorNameProblem('x'.repeat(211))).toBeNull();
    expect(connectorNameProblem('x'.repeat(212))).toMatch(/256 bytes in UTF-8/);
  });

  it("print the epoch as Python's str(float) does: shortest round-trip digits, .0 for whole numbers", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000_000 }), (micros) => {
        const seconds = micros / 1_000_000;
        const text = pythonFloatText(seconds);
        expect(Number(text)).toBe(seconds);
        expect(text).toMatch(/^\d+\.\d+$/);
      }),
    );
  });
});

describe('DirectoryOutput', () => {
  it('writes the DIRECTORY_BUNDLE envelope and deletes only *.json (and *.json.tmp) files older than the retention', async () => {
    const dir = await scratch();
    const now = Date.now();
    const aged = async (name: string, ageMs: number) => {
      await writeFile(join(dir, name), '{}');
      await utimes(join(dir, name), (now - ageMs) / 1000, (now - ageMs) / 1000);
    };
    await aged('older.json', 3 * DAY_MS);
    await aged('younger.json', 1 * DAY_MS);
    await aged('older.txt', 30 * DAY_MS);
    // A killed write's partial file, and another process's write in progress.
    await aged('older.json.tmp', 30 * DAY_MS);
    await aged('younger.json.tmp', 0);
    const output = await DirectoryOutput.open({ path: dir, retentionDays: 2, connector, logger });
    const name = await output.write(bundleOf(2), { applicantId: 'user-1', update: true });
    const names = (await readdir(dir)).sort();
    expect(names).toEqual(['older.txt', name, 'younger.json', 'younger.json.tmp'].sort());
    expect(JSON.parse(await readFile(join(dir, name), 'utf8'))).toEqual({
      bundle_type: 'DIRECTORY_BUNDLE',
      applicant_id: 'user-1',
      connector: {
        id: connector.id,
        name: 'My Feed',
        type: 'EXTERNAL_IMPORT',
        scope: 'ipv4-addr',
        auto: false,
        validate_before_import: false,
      },
      entities_types: null,
      bundle: bundleOf(2),
      update: true,
    });
  });

  it('retention 0 keeps files of any age', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'ancient.json'), '{}');
    await utimes(join(dir, 'ancient.json'), 1, 1);
    const output = await DirectoryOutput.open({ path: dir, retentionDays: 0, connector, logger });
    await output.write(bundleOf(1), { applicantId: null, update: false });
    expect(await readdir(dir)).toContain('ancient.json');
  });

  it('gives two bundles written in the same instant two files', async () => {
    const dir = await scratch();
    const output = await DirectoryOutput.open({
      path: dir,
      retentionDays: 7,
      connector,
      logger,
      clock: () => 1_765_000_000_000,
    });
    const first = await output.write(bundleOf(1), { applicantId: null, update: false });
    const second = await output.write(bundleOf(1), { applicantId: null, update: false });
    expect(first).not.toBe(second);
    expect((await readdir(dir)).filter((n) => n.endsWith('.json'))).toHaveLength(2);
  });

  it('never lets a reader of *.json see a partial file while large bundles are written', async () => {
    const dir = await scratch();
    const output = await DirectoryOutput.open({ path: dir, retentionDays: 7, connector, logger });
    let writing = true;
    let reads = 0;
    const partial: string[] = [];
    // A reader like the process that carries the files across: lists, takes every *.json, parses it.
    const reader = (async () => {
      while (writing) {
        for (const name of await readdir(dir)) {
          if (!name.endsWith('.json')) continue;
          const text = await readFile(join(dir, name), 'utf8').catch(() => null);
          if (text === null) continue;
          reads++;
          try {
            JSON.parse(text);
          } catch {
            partial.push(name);
          }
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let i = 0; i < 6; i++) await output.write(bundleOf(2000, 600), { applicantId: null, update: false });
    writing = false;
    await reader;
    expect(partial).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a write that fails names CONNECTOR_SEND_TO_DIRECTORY_PATH and leaves no temporary file', async () => {
    const dir = await scratch();
    const output = await DirectoryOutput.open({ path: dir, retentionDays: 0, connector, logger });
    await rmdir(dir);
    const failure = await output.write(bundleOf(1), { applicantId: null, update: false }).catch((e: unknown) => e);
    expect(DeliveryError.is(failure)).toBe(true);
    expect((failure as DeliveryError).setting).toBe('CONNECTOR_SEND_TO_DIRECTORY_PATH');
    expect((failure as Error).message).toMatch(
      /Could not write the bundle file .* \(CONNECTOR_SEND_TO_DIRECTORY_PATH\): it does not exist/,
    );
  });

  it('refuses at open a path that is a file, or a directory this process cannot write in', async () => {
    const dir = await scratch();
    const file = join(dir, 'a-file');
    await (await open(file, 'w')).close();
    await expect(DirectoryOutput.open({ path: file, retentionDays: 0, connector, logger })).rejects.toThrow(
      /CONNECTOR_SEND_TO_DIRECTORY_PATH: .* is not a directory/,
    );
    // Permission bits do not stop root: /sys refuses new files to every user.
    const unwritable = process.getuid?.() === 0 ? '/sys' : '/';
    await expect(DirectoryOutput.open({ path: unwritable, retentionDays: 0, connector, logger })).rejects.toThrow(
      /CONNECTOR_SEND_TO_DIRECTORY_PATH: this process cannot write files in/,
    );
    // The probe leaves nothing behind in a directory it could write in.
    await DirectoryOutput.open({ path: dir, retentionDays: 0, connector, logger });
    expect(await readdir(dir)).toEqual(['a-file']);
  });
});
