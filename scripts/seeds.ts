/**
 * The environment variables each connector's original README documents (../shared/seeds/*.md), with the
 * example values it gives. These names are a contract: admins copy them from the Python connectors'
 * compose files, so docker/docker-compose.yml and every .env.example must use exactly them.
 *
 * A README documents a setting in an example block (a compose `environment:` list, a `.env` file, a
 * bullet list of NAME=value) or in a table with an environment-variable column. Both count; a block
 * gives the example value, a table's "Default" column only a suggestion.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SeedSetting {
  name: string;
  /** The README's example value, when a block gives one (quotes and trailing comments removed). */
  example?: string;
  /** The table's default, when the README has a Default column. */
  tableDefault?: string;
}

/** Seed README file name → connector slug. */
export const SEED_FILES: Readonly<Record<string, string>> = {
  'crowdsec.md': 'crowdsec',
  'scout.md': 'team-cymru-scout',
  'spycloud.md': 'spycloud',
  'teamt5.md': 'teamt5',
  'urlscan.md': 'urlscan-enrichment',
};

/**
 * Names a README lists that are not settings of the connector, with the reason. The test checks that
 * each still appears in its README, so this list cannot go stale silently.
 */
export const NOT_SETTINGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  crowdsec: {
    TEMPLATE_ATTRIBUTE:
      "a row left over from OpenCTI's connector template (`template_attribute`); no version of the CrowdSec connector reads it",
  },
};

const NAME = /^[A-Z][A-Z0-9_]*$/;

/** Every setting a README documents, in the order it first appears. */
export function parseSeedSettings(markdown: string): SeedSetting[] {
  const found = new Map<string, SeedSetting>();
  const add = (name: string, example: string | undefined, tableDefault: string | undefined) => {
    const current = found.get(name) ?? { name };
    if (example !== undefined && current.example === undefined) current.example = example;
    if (tableDefault !== undefined && current.tableDefault === undefined) current.tableDefault = tableDefault;
    found.set(name, current);
  };

  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  let fence: string | null = null;
  let table: { envColumn: number; defaultColumn: number } | null = null;
  for (const line of lines) {
    const trimmed = line.trim();
    const fenceMatch = /^(```|~~~)\s*(\S*)/.exec(trimmed);
    if (fenceMatch) {
      fence = fence === null ? (fenceMatch[2] ?? '').toLowerCase() : null;
      table = null;
      continue;
    }
    if (fence === 'mermaid') continue;

    // NAME=value in a code block, or in a bullet list (the "Recommended default" style).
    const assignment = /^(?:-\s+)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(trimmed);
    if (assignment && (fence !== null || trimmed.startsWith('-'))) {
      const [, name, value] = assignment;
      if (name) add(name, cleanValue(value ?? ''), undefined);
      continue;
    }
    if (fence !== null) continue;

    if (!trimmed.startsWith('|')) {
      table = null;
      continue;
    }
    const cells = splitRow(trimmed);
    if (table === null) {
      const envColumn = cells.findIndex((c) => /envvar|environment variable/i.test(c));
      if (envColumn >= 0) table = { envColumn, defaultColumn: cells.findIndex((c) => /^default$/i.test(c.trim())) };
      continue;
    }
    if (cells.every((c) => /^:?-+:?$/.test(c.trim()))) continue;
    const name = (cells[table.envColumn] ?? '').replace(/`/g, '').trim();
    if (!NAME.test(name)) continue;
    const rawDefault = table.defaultColumn >= 0 ? cells[table.defaultColumn] : undefined;
    add(name, undefined, rawDefault === undefined ? undefined : tableDefaultOf(rawDefault));
  }
  return [...found.values()];
}

/** The settings of one connector: its README's, minus the documented non-settings. */
export function seedSettingsFor(slug: string, markdown: string): SeedSetting[] {
  const excluded = NOT_SETTINGS[slug] ?? {};
  return parseSeedSettings(markdown).filter((s) => !Object.hasOwn(excluded, s.name));
}

/** Every seed folder's settings by slug (null when the folder does not exist). */
export function readSeedSettings(seedsDir: string): Record<string, SeedSetting[]> | null {
  if (!existsSync(seedsDir)) return null;
  const present = new Set(readdirSync(seedsDir));
  const out: Record<string, SeedSetting[]> = {};
  for (const [file, slug] of Object.entries(SEED_FILES)) {
    if (!present.has(file)) throw new Error(`${join(seedsDir, file)} is missing`);
    out[slug] = seedSettingsFor(slug, readFileSync(join(seedsDir, file), 'utf8'));
  }
  return out;
}

/** A concrete example: not a placeholder such as `<your API key>` or `your-api-key`. */
export function isConcreteExample(value: string | undefined): value is string {
  if (value === undefined || value === '') return false;
  return !/^<.*>$/.test(value) && !/^your[-_ ]/i.test(value);
}

function splitRow(row: string): string[] {
  const inner = row.replace(/^\|/, '').replace(/\|\s*$/, '');
  return inner.split('|').map((c) => c.trim());
}

function cleanValue(raw: string): string {
  let value = raw.trim();
  // A comment: ` # text` (the seeds write `IPv4-Addr # MIME type` and `v2 #v2 is the only...`).
  const comment = value.search(/\s#/);
  if (comment >= 0) value = value.slice(0, comment).trim();
  return stripQuotes(value);
}

function tableDefaultOf(cell: string): string | undefined {
  const value = stripQuotes(cell.replace(/`/g, '').trim());
  if (value === '' || value === '/' || /^required$/i.test(value)) return undefined;
  return value;
}

function stripQuotes(value: string): string {
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
    return value.slice(1, -1);
  }
  return value;
}
