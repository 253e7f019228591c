/**
 * The environment variables a Python connector's README documents, with the example values it gives: what a
 * port's `env-contract.json` lists (`pnpm env-contract <README.md>` prints a draft of it). These names are a
 * contract: admins copy them from the Python connectors' compose files, so the generated compose service and
 * the connector's .env.example use exactly them.
 *
 * A README documents a setting in an example block (a compose `environment:` list, a `.env` file, a
 * bullet list of NAME=value) or in a table with an environment-variable column. Both count; a block
 * gives the example value, a table's "Default" column only a suggestion.
 */
import { type EnvContract, envContractSchema } from './folder.js';

export interface ReadmeSetting {
  name: string;
  /** The README's example value, when a block gives one (quotes and trailing comments removed). */
  example?: string;
  /** The table's default, when the README has a Default column. */
  tableDefault?: string;
}

const NAME = /^[A-Z][A-Z0-9_]*$/;

/** Every setting a README documents, in the order it first appears. */
export function parseReadmeSettings(markdown: string): ReadmeSetting[] {
  const found = new Map<string, ReadmeSetting>();
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
  // A comment: ` # text` (the READMEs write `IPv4-Addr # MIME type` and `v2 #v2 is the only...`).
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

/** The env-contract.json a README implies, before review (`pnpm env-contract`). */
export function draftEnvContract(markdown: string, source: string): EnvContract {
  return envContractSchema.parse({ source, settings: parseReadmeSettings(markdown) });
}
