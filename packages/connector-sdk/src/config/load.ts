import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors/index.js';
import { maskValues, REDACTED, registerSecret } from '../log/redact.js';
import { fieldMeta } from './fields.js';

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
 * Parses a connector's settings from the environment. Every problem is collected and thrown at once as a
 * ConfigError naming the env var; a secret's value never appears in it. Secret values are registered for
 * redaction everywhere.
 */
export function loadConfig<S extends ConfigShape>(shape: S, options: LoadConfigOptions = {}): ConfigOf<S> {
  const env = readEnvironment(options);
  const input: Record<string, string | undefined> = {};
  const source: Record<string, string> = {};
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
  }

  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    // No value is shown, in any encoding: a setting's own value may hold a secret by mistake (a key pasted into
    // the wrong variable, a URL with a password) and a parser may echo it; secrets never appear either. Other
    // settings' values are not masked: "true" or "info" would shred the wording of every message.
    const both = (v: string | undefined) => (v === undefined ? [] : [v, v.trim()]);
    const secretValues = secretKeys(shape).flatMap((k) => both(input[k]));
    const issues: ConfigIssue[] = [];
    const seen = new Set<string>();
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '');
      const variable = source[key] ?? key;
      const schema = shape[key];
      const message =
        input[key] === undefined
          ? describeMissing(schema)
          : maskValues(issue.message, [...both(input[key]), ...secretValues]).replace(MASKED_ECHO, '');
      const line = `${variable}: ${message}`;
      if (seen.has(line)) continue;
      seen.add(line);
      issues.push({ variable, message });
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

/** What is left of a `got "<value>"` clause once the value is masked: dropped. */
const MASKED_ECHO = new RegExp(`,? got "${REDACTED.replace(/[[\]]/g, '\\$&')}"`, 'g');

function describeMissing(schema: z.ZodType | undefined): string {
  const aliases = schema ? (fieldMeta(schema).aliases ?? []) : [];
  return aliases.length > 0 ? `is required (or set ${aliases.join(' or ')})` : 'is required';
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
