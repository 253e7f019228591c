import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors/index.js';
import { maskValues, REDACTED, registerSecret } from '../log/redact.js';
import { CONFIG_FILE_NAME, type ConfigFile, type FileValue } from './config-file.js';
import { fieldMeta } from './fields.js';
import { PYCTI_ONLY_YAML_KEYS, yamlKeys } from './yaml-keys.js';

/** A connector's settings: env var name → zod schema of its raw string. */
export type ConfigShape = Record<string, z.ZodType>;
export type ConfigOf<S extends ConfigShape> = z.output<z.ZodObject<S>>;
export type Env = Record<string, string | undefined>;

export interface LoadConfigOptions {
  /** The environment; default process.env. */
  env?: Env;
  /**
   * A .env file for local runs, read after the environment (the environment wins). Default `.env` in the
   * working directory when it exists; false to skip.
   */
  dotenvPath?: string | false;
  /**
   * config.yml, read beneath the environment: a setting takes the file's value only when none of its
   * variables is set (an empty one counts as unset). Every key of the file must be a setting's.
   */
  file?: ConfigFile;
  /** Values beneath the environment and the file (a dry run's stand-ins for the platform settings). */
  fallback?: Env;
}

/** The environment merged with the .env file (environment first). */
export function readEnvironment(options: LoadConfigOptions = {}): Env {
  const env = options.env ?? process.env;
  const path = options.dotenvPath === undefined ? '.env' : options.dotenvPath;
  if (path === false || !existsSync(path)) return { ...env };
  const fromFile = parseDotenv(readFileSync(path));
  return { ...fromFile, ...env };
}

/** The env names a setting answers to, documented name first. */
export function envNames(key: string, schema: z.ZodType): string[] {
  return [key, ...(fieldMeta(schema).aliases ?? [])];
}

/** Names of the secret settings of a shape. */
export function secretKeys(shape: ConfigShape): string[] {
  return Object.entries(shape)
    .filter(([, s]) => fieldMeta(s).secret === true)
    .map(([k]) => k);
}

/**
 * Parses a connector's settings from the environment, then config.yml for those no variable sets, then the
 * fallback. Every problem is collected and thrown at once as a ConfigError naming the env var (and the
 * config.yml key, file and line when the value came from there); a secret's value never appears in it.
 * Secret values are registered for redaction everywhere, wherever they were read.
 */
export function loadConfig<S extends ConfigShape>(shape: S, options: LoadConfigOptions = {}): ConfigOf<S> {
  const env = readEnvironment(options);
  const input: Record<string, string | undefined> = {};
  const source: Record<string, string> = {};
  /** Where a value read from config.yml came from: its key and the file. */
  const origin: Record<string, string> = {};
  const issues: ConfigIssue[] = [];
  /** Settings whose file value is of the wrong shape: already reported, not reported missing too. */
  const unusable = new Set<string>();
  for (const [key, schema] of Object.entries(shape)) {
    source[key] = key;
    for (const name of envNames(key, schema)) {
      const value = env[name];
      // pycti: a variable set to an empty string takes the default
      if (value !== undefined && value.trim() !== '') {
        input[key] = value;
        source[key] = name;
        break;
      }
    }
    if (input[key] !== undefined || options.file === undefined) continue;
    for (const yamlKey of yamlKeys(key, schema)) {
      const value = options.file.values.get(yamlKey);
      if (value === undefined) continue;
      const where = `${yamlKey} in ${options.file.path}, line ${value.line}`;
      const text = fileValueText(value, fieldMeta(schema).kind === 'array');
      // As in the environment, an empty value is unset.
      if (typeof text !== 'string') {
        issues.push({ variable: key, source: where, message: text.problem });
        unusable.add(key);
      } else if (text.trim() !== '') {
        input[key] = text;
        origin[key] = where;
      }
      break;
    }
  }
  if (options.fallback) {
    for (const [key, value] of Object.entries(options.fallback)) {
      if (key in shape && input[key] === undefined) input[key] = value;
    }
  }
  if (options.file) issues.push(...unknownFileKeys(shape, options.file));

  const result = z.object(shape).safeParse(input);
  if (!result.success || issues.length > 0) {
    // No value is shown, in any encoding: a setting's own value may hold a secret by mistake (a key pasted into
    // the wrong variable, a URL with a password) and a parser may echo it; secrets never appear either. Other
    // settings' values are not masked: "true" or "info" would shred the wording of every message.
    const both = (v: string | undefined) => (v === undefined ? [] : [v, v.trim()]);
    const secretValues = secretKeys(shape).flatMap((k) => both(input[k]));
    const seen = new Set<string>();
    for (const issue of result.success ? [] : result.error.issues) {
      const key = String(issue.path[0] ?? '');
      if (unusable.has(key)) continue;
      const variable = source[key] ?? key;
      const schema = shape[key];
      const message =
        input[key] === undefined
          ? describeMissing(schema, key, options.file)
          : maskValues(issue.message, [...both(input[key]), ...secretValues]).replace(MASKED_ECHO, '');
      const line = `${variable}: ${message}`;
      if (seen.has(line)) continue;
      seen.add(line);
      issues.push({ variable, message, ...(origin[key] ? { source: origin[key] } : {}) });
    }
    throw new ConfigError(issues);
  }

  for (const key of secretKeys(shape)) {
    const value = (result.data as Record<string, unknown>)[key];
    if (typeof value === 'string') registerSecret(value);
    // A secret map (OPENCTI_CUSTOM_HEADERS): its values are the secrets, its keys are names.
    else if (isStringMap(value)) for (const v of Object.values(value)) registerSecret(v);
  }
  return result.data as ConfigOf<S>;
}

/**
 * A file value as the environment variable's text. A list is accepted where the setting is a comma-separated
 * list, joined with commas; an item holding a comma would be split apart, so it is refused.
 */
function fileValueText(value: FileValue, isList: boolean): string | { problem: string } {
  if (value.kind === 'text') return value.text;
  if (value.kind === 'unusable') return { problem: value.problem };
  if (!isList) return { problem: 'is a list; expected a single value' };
  if (value.items.some((item) => item.includes(','))) return { problem: 'a list item holds a comma' };
  return value.items.join(',');
}

/** The file's keys, each mapped to the setting that reads it. */
export function fileKeysOf(shape: ConfigShape): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [key, schema] of Object.entries(shape)) for (const k of yamlKeys(key, schema)) keys.set(k, key);
  return keys;
}

/** Keys of the file pycti reads and no setting here does: ignored, with a warning. */
export function ignoredFileKeys(shape: ConfigShape, file: ConfigFile): string[] {
  const known = fileKeysOf(shape);
  return [...file.values.keys(), ...file.nullKeys].filter((k) => !known.has(k) && PYCTI_ONLY_YAML_KEYS.includes(k));
}

/** What a section and a key may hold to be named in an error: anything else may be a value, a secret. */
const KEY_LIKE = /^[A-Za-z0-9_-]{1,100}\.[A-Za-z0-9_-]{1,100}$/;

/** A key no setting reads (a typo, a key of another connector) is an error naming it, not a silent default. */
function unknownFileKeys(shape: ConfigShape, file: ConfigFile): ConfigIssue[] {
  const known = fileKeysOf(shape);
  const sections = new Set([...known.keys()].map((k) => k.slice(0, k.indexOf('.'))));
  const issues: ConfigIssue[] = [];
  for (const [yamlKey, value] of [
    ...[...file.values].map(([k, v]) => [k, v.line] as const),
    ...[...file.nullKeys].map((k) => [k, undefined] as const),
  ]) {
    if (known.has(yamlKey) || PYCTI_ONLY_YAML_KEYS.includes(yamlKey)) continue;
    const section = yamlKey.slice(0, yamlKey.indexOf('.'));
    const where = value === undefined ? file.path : `${file.path}, line ${value}`;
    if (!KEY_LIKE.test(yamlKey)) {
      // `{token:secret}` is one key, `token:secret`: such a key is a value written in the wrong place.
      const shown = KEY_LIKE.test(`${section}.x`) ? `${section}.<key not shown>` : '<key not shown>';
      const message =
        'is not a setting: a key with a character no setting\'s key has (a value written "key:value", without a space after the colon?); not shown, as it may hold a secret';
      issues.push({ variable: shown, source: where, message });
      continue;
    }
    const lower = yamlKey.toLowerCase();
    const message = known.has(lower)
      ? `is not a setting: keys are lower case (${lower})`
      : sections.has(section)
        ? 'is not a setting of this connector (--help lists every setting and its config.yml key)'
        : `is not a setting of this connector: its sections are ${[...sections].join(', ')}`;
    issues.push({ variable: yamlKey, source: where, message });
  }
  return issues;
}

/** What is left of a `got "<value>"` clause once the value is masked: dropped. */
const MASKED_ECHO = new RegExp(`,? got "${REDACTED.replace(/[[\]]/g, '\\$&')}"`, 'g');

function describeMissing(schema: z.ZodType | undefined, key: string, file: ConfigFile | undefined): string {
  const aliases = schema ? (fieldMeta(schema).aliases ?? []) : [];
  const keys = file && schema ? yamlKeys(key, schema) : [];
  const others = [
    ...(aliases.length > 0 ? [`set ${aliases.join(' or ')}`] : []),
    ...(keys.length > 0 ? [`${keys.join(' or ')} in ${CONFIG_FILE_NAME}`] : []),
  ];
  return others.length > 0 ? `is required (or ${others.join(', or ')})` : 'is required';
}

/** A copy of the config fit for a log line: secrets masked, unset values left out. */
export function redactConfig(shape: ConfigShape, config: Record<string, unknown>): Record<string, unknown> {
  const secrets = new Set(secretKeys(shape));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue;
    if (!secrets.has(k)) out[k] = v;
    else if (isStringMap(v)) out[k] = Object.fromEntries(Object.keys(v).map((name) => [name, REDACTED]));
    else out[k] = REDACTED;
  }
  return out;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}
