/**
 * config.yml, as pycti's connectors read it: a mapping of sections (`opencti`, `connector`, the vendor's) to
 * mappings of keys to values, next to the connector's entry point. Each value is handed to the same zod schema
 * as the environment variable it stands for, as the text the admin wrote (a plain `0123` stays `0123`, `yes`
 * stays `yes`), so a file and an environment that say the same thing give the same settings.
 *
 * The facts about pycti's file are in reference/protocol-notes.md#configyml.
 *
 * Nothing of the file's content is ever quoted in an error: it holds secrets, and a YAML parser's messages
 * show the offending line. Errors say the line, the column and what is wrong.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  type Alias,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  parseDocument,
  type Scalar,
  visit,
  type YAMLError,
} from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors/index.js';

export const CONFIG_FILE_NAME = 'config.yml';

/** Far above any connector's settings; a larger file is a mistake (a log, a dump) and is not read into memory. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** One key of the file: its value as text, a list of texts, or why it cannot be a setting's value. */
export type FileValue =
  | { kind: 'text'; text: string; line: number }
  | { kind: 'list'; items: string[]; line: number }
  | { kind: 'unusable'; problem: string; line: number };

export interface ConfigFile {
  /** Absolute path, for messages. */
  path: string;
  /** By `section.key`; a key set to null (`key:`, `key: ~`) is absent, as unset. */
  values: ReadonlyMap<string, FileValue>;
  /** Keys set to null: absent from `values`, but still checked against the settings. */
  nullKeys: ReadonlySet<string>;
}

/**
 * Where pycti's connectors find config.yml: next to the entry point, else in its parent folder
 * (connectors-sdk's `_SettingsLoader._get_config_yml_file_path`: `main.parent / "config.yml"`, then
 * `main.parent.parent / "config.yml"`). Here the entry point is `dist/main.js` (`src/main.ts` in development),
 * so the file is `dist/config.yml` or, as it is documented, the connector's folder: `/app/config.yml` in the
 * image. Undefined when neither exists.
 */
export function locateConfigFile(entryPoint: string): string | undefined {
  const here = dirname(resolve(entryPoint));
  for (const candidate of [join(here, CONFIG_FILE_NAME), join(dirname(here), CONFIG_FILE_NAME)]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // absent, or not reachable: the next place
    }
  }
  return undefined;
}

/** Reads and parses a config.yml. @throws ConfigError naming the file, the line and what is wrong. */
export function readConfigFile(path: string): ConfigFile {
  const refuse = (message: string): never => {
    throw new ConfigError([{ variable: CONFIG_FILE_NAME, source: path, message }]);
  };
  let bytes: Buffer;
  try {
    if (statSync(path).size > MAX_CONFIG_FILE_BYTES) refuse(`is larger than ${MAX_CONFIG_FILE_BYTES / 1024} KiB`);
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    return refuse(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return refuse('is not UTF-8 text');
  }
  return parseConfigText(text, path);
}

/** Parses config.yml's text (`path` is for messages). @throws ConfigError */
export function parseConfigText(text: string, path: string): ConfigFile {
  // Keys given twice are found below in one pass: the parser's uniqueKeys compares each key with every other.
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, strict: true });
  const lines = lineIndex(text);
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map((e) => {
        const { line, column } = lines.at(e.pos[0]);
        return { variable: CONFIG_FILE_NAME, source: `${path}, line ${line}, column ${column}`, message: describe(e) };
      }),
    );
  }
  const twice = keysGivenTwice(doc);
  if (twice.length > 0) {
    throw new ConfigError(
      twice.map((offset) => {
        const { line, column } = lines.at(offset);
        const message = 'is not valid YAML: a key given twice in the same mapping';
        return { variable: CONFIG_FILE_NAME, source: `${path}, line ${line}, column ${column}`, message };
      }),
    );
  }
  const { deref, unresolved } = aliasResolver(doc);
  if (unresolved.length > 0) {
    throw new ConfigError(
      unresolved.map((alias) => {
        const { line, column } = lines.at(alias.range?.[0] ?? 0);
        const message =
          'is not valid YAML: an alias (*name) with no anchor (&name) before it; a value starting with * needs quotes';
        return { variable: CONFIG_FILE_NAME, source: `${path}, line ${line}, column ${column}`, message };
      }),
    );
  }
  const lineOf = (node: unknown): number => lines.at((node as Node | null)?.range?.[0] ?? 0).line;
  const at = (node: unknown) => `${path}, line ${lineOf(node)}`;
  const issues: ConfigIssue[] = [];
  const values = new Map<string, FileValue>();
  const nullKeys = new Set<string>();
  const root = doc.contents;
  if (root === null || isNull(root)) return { path, values, nullKeys };
  if (!isMap(root)) {
    throw new ConfigError([
      {
        variable: CONFIG_FILE_NAME,
        source: at(root),
        message: 'expected sections such as "opencti:" and "connector:", each a mapping of settings',
      },
    ]);
  }
  for (const section of root.items) {
    const name = keyText(section.key);
    const settings = deref(section.value);
    if (name === undefined) {
      issues.push({ variable: CONFIG_FILE_NAME, source: at(section.key), message: 'a section name must be text' });
      continue;
    }
    if (settings === null || isNull(settings)) continue;
    if (!isMap(settings)) {
      const message = 'expected a mapping of settings ("key: value" lines indented below it)';
      issues.push({ variable: shownSection(name), source: at(section.key), message });
      continue;
    }
    for (const pair of settings.items) {
      const key = keyText(pair.key);
      if (key === undefined) {
        issues.push({ variable: shownSection(name), source: at(pair.key), message: 'a key must be text' });
        continue;
      }
      const value = deref(pair.value);
      if (value === null || isNull(value)) nullKeys.add(`${name}.${key}`);
      else values.set(`${name}.${key}`, toFileValue(value, deref, lineOf(pair.key)));
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { path, values, nullKeys };
}

/**
 * A section's name as an error shows it: a name no section has (`opencti:secret`, a value written without a
 * space after the colon) may hold a secret, and is not shown.
 */
function shownSection(name: string): string {
  return /^[A-Za-z0-9_-]{1,100}$/.test(name) ? name : '<section name not shown>';
}

/** Line and column (from 1) of an offset, by binary search over the offsets where lines start. */
function lineIndex(text: string): { at(offset: number): { line: number; column: number } } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return {
    at(offset) {
      let low = 0;
      let high = starts.length - 1;
      while (low < high) {
        const mid = (low + high + 1) >> 1;
        if ((starts[mid] ?? 0) <= offset) low = mid;
        else high = mid - 1;
      }
      return { line: low + 1, column: offset - (starts[low] ?? 0) + 1 };
    },
  };
}

type Doc = ReturnType<typeof parseDocument>;
type Deref = (node: unknown) => Node | null;

/** Where each key given a second time in its mapping starts (a scalar key, compared by type and value). */
function keysGivenTwice(doc: Doc): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        const id = `${typeof key.value}:${String(key.value)}`;
        if (seen.has(id)) offsets.push(key.range?.[0] ?? 0);
        seen.add(id);
      }
    },
  });
  return offsets;
}

/**
 * Replaces an alias (`*name`) by the node it names: the latest `&name` before it, as YAML says. The targets
 * are found in one walk of the document (which also finds the aliases naming no anchor, which the parser
 * does not report): the parser's Alias.resolve walks the whole document for each alias,
 * and a file of aliases within the size cap then took hours to read.
 */
function aliasResolver(doc: Doc): { deref: Deref; unresolved: Alias[] } {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  const unresolved: Alias[] = [];
  visit(doc, {
    Alias(_, alias) {
      const target = anchors.get(alias.source);
      if (target) targets.set(alias, target);
      else unresolved.push(alias);
    },
    Node(_, node) {
      if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  const deref: Deref = (node) => (isAlias(node) ? (targets.get(node) ?? null) : ((node as Node | null) ?? null));
  return { deref, unresolved };
}

function isNull(node: unknown): boolean {
  return isScalar(node) && node.value === null;
}

function keyText(key: unknown): string | undefined {
  if (!isScalar(key) || key.value === null || typeof key.value === 'object') return undefined;
  return scalarText(key);
}

/** The value as the text an environment variable would hold: a plain scalar as written, a quoted one unquoted. */
function scalarText(node: Scalar): string {
  if (node.type === 'PLAIN' && typeof node.source === 'string') return node.source;
  return String(node.value);
}

function toFileValue(node: Node, deref: Deref, line: number): FileValue {
  if (isScalar(node)) return { kind: 'text', text: scalarText(node), line };
  if (isSeq(node)) {
    const items: string[] = [];
    for (const item of node.items) {
      const value = deref(item);
      if (value === null || isNull(value)) continue;
      if (!isScalar(value)) return { kind: 'unusable', problem: 'is a list of lists or mappings', line };
      items.push(scalarText(value));
    }
    return { kind: 'list', items, line };
  }
  return { kind: 'unusable', problem: 'is a mapping; expected a value', line };
}

/**
 * What a YAML error means, from its code: the parser's own message may quote the line, which can hold a
 * secret.
 */
function describe(error: YAMLError): string {
  const known: Record<string, string> = {
    BAD_INDENT: 'bad indentation (keys of one section line up under each other, indented with spaces)',
    TAB_AS_INDENT: 'a tab used for indentation: YAML indents with spaces',
    DUPLICATE_KEY: 'a key given twice in the same mapping',
    MISSING_CHAR: 'something is missing here (a closing quote, a ":" after a key, a "," between items)',
    MULTILINE_IMPLICIT_KEY: 'a key runs over several lines (a value holding ": " or " #" needs quotes)',
    BLOCK_AS_IMPLICIT_KEY: 'a list or a mapping where a key was expected',
    BAD_SCALAR_START: 'a value starts with a character YAML reserves (@, `, %, !, &, *): quote it',
    BAD_DQ_ESCAPE: 'an invalid escape sequence in a double-quoted value (single quotes keep backslashes as they are)',
    TAG_RESOLVE_FAILED: 'an unknown or misused YAML tag (!...)',
    BAD_ALIAS: 'a bad anchor or alias (&name, *name)',
    ALIAS_PROPS: 'a bad anchor or alias (&name, *name)',
    RESOURCE_EXHAUSTION: 'values nested too deeply, or too many aliases: more than a config file holds',
    MULTIPLE_DOCS: 'several YAML documents (---): config.yml holds one',
    UNEXPECTED_TOKEN: 'unexpected text here (an unquoted value with a special character?)',
    KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
    BLOCK_IN_FLOW: 'a block inside a [...] or {...} value',
    BAD_DIRECTIVE: 'a bad % directive',
    BAD_COLLECTION_TYPE: 'a tag that does not fit the value',
    NON_STRING_KEY: 'a key that is not text',
  };
  return `is not valid YAML: ${known[error.code] ?? error.code.toLowerCase().replaceAll('_', ' ')}`;
}
