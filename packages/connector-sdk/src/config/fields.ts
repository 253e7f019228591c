/**
 * Field helpers for connector config schemas. Each env var is one zod schema whose input is the raw env
 * string (or undefined when unset or empty, as pycti treats `FOO=`), and whose output is the typed value.
 * Metadata (aliases, secret, description) travels in zod's registry, read back by `fieldMeta`.
 */
import { z } from 'zod';
import { parseTlp, type TlpLevel } from '../stix/tlp.js';
import { parseDurationSeconds } from './duration.js';

export interface FieldMeta {
  /** Other env names accepted for this setting (an upstream connector's name). The documented name wins. */
  aliases?: readonly string[];
  /** A secret: never printed, masked in logs wherever its value appears. */
  secret?: boolean;
  /** One line for the configuration reference. */
  description?: string;
  /** Shown as the default in generated docs and manifests when the schema cannot say it itself. */
  defaultText?: string;
  /** The JSON type of the parsed value, for the config schema manifest. */
  kind?: 'string' | 'boolean' | 'integer' | 'number' | 'array';
  /** Allowed values (enums, TLP levels, list items), for the manifest. */
  values?: readonly string[];
  /** The parsed default, for the manifest. */
  defaultValue?: unknown;
  /**
   * The config.yml keys (`section.key`) this setting is read from, the first one documented, where upstream's
   * differ from the one derived from the env name (`PURE_SIGNAL_SCOUT_API_URL` is `pure_signal_scout.api_url`,
   * not `pure.signal_scout_api_url`). Replaces the derived key.
   */
  yaml?: readonly string[];
}

export type FieldOptions = Omit<FieldMeta, 'secret'>;

const META_KEY = 'cti';

function withMeta<T extends z.ZodType>(schema: T, meta: FieldMeta): T {
  const clean: Record<string, unknown> = {};
  if (meta.aliases?.length) clean.aliases = [...meta.aliases];
  if (meta.secret) clean.secret = true;
  if (meta.description) clean.description = meta.description;
  if (meta.defaultText !== undefined) clean.defaultText = meta.defaultText;
  if (meta.kind) clean.kind = meta.kind;
  if (meta.values) clean.values = [...meta.values];
  if (meta.defaultValue !== undefined) clean.defaultValue = meta.defaultValue;
  if (meta.yaml?.length) clean.yaml = meta.yaml.map(checkedYamlKey);
  return schema.meta({ [META_KEY]: clean, ...(meta.description ? { description: meta.description } : {}) }) as T;
}

/** A config.yml key as pycti looks one up: a section and a key, lower case (`connector.duration_period`). */
const YAML_KEY = /^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_]*$/;

function checkedYamlKey(key: string): string {
  if (!YAML_KEY.test(key)) throw new TypeError(`"${key}" is not a config.yml key: expected section.key, lower case`);
  return key;
}

/** The FieldMeta of a schema, looking through optional/default/pipe wrappers. */
export function fieldMeta(schema: z.ZodType): FieldMeta {
  let current: unknown = schema;
  for (let depth = 0; depth < 8 && current; depth++) {
    const found = (current as z.ZodType).meta?.()?.[META_KEY];
    if (found && typeof found === 'object') return found as FieldMeta;
    const def = (current as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    current = def?.innerType ?? def?.in ?? def?.schema;
  }
  return {};
}

/*
 * Messages about a bad value say what was expected, never the value: a key pasted into the wrong variable, or a
 * URL with credentials in it, would otherwise be printed (loadConfig masks any echo that slips through).
 */

/** Booleans as admins write them in compose files: true/false, yes/no, 1/0, on/off (any case). */
function parseBool(raw: string, ctx: z.RefinementCtx): boolean {
  const v = raw.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  ctx.addIssue({ code: 'custom', message: 'expected true or false (also yes/no, 1/0, on/off)' });
  return z.NEVER;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * A number as people write one in a compose file: decimal digits, an optional sign and, for decimals, a
 * point. Number() would also read 0x32 (50), 1e2, 0b1, Infinity and "" (0): each is refused here, as a
 * value that does not say what the admin meant. Surrounding blanks are dropped (as every setting's are);
 * -0 is 0.
 */
function parseNumber(raw: string, ctx: z.RefinementCtx, kind: 'integer' | 'decimal'): number {
  const text = raw.trim();
  const integer = kind === 'integer';
  const value = Number(text) + 0;
  if (!(integer ? INTEGER : DECIMAL).test(text)) {
    ctx.addIssue({
      code: 'custom',
      message: integer ? `expected a whole number, got "${raw}"` : `expected a number, got "${raw}"`,
    });
    return z.NEVER;
  }
  if (integer ? !Number.isSafeInteger(value) : !Number.isFinite(value)) {
    ctx.addIssue({
      code: 'custom',
      message: integer
        ? `is too large to be read exactly (at most ${Number.MAX_SAFE_INTEGER})`
        : 'is too large to be read exactly',
    });
    return z.NEVER;
  }
  return value;
}

const rawString = z.string({ error: 'expected a text value' });

/**
 * Secrets travel in HTTP headers and AMQP handshakes, where a control character is refused at the first
 * request (Node) or splits the header: a line break pasted with a key, or kept from a file, is caught at
 * start-up instead, and the value is never shown.
 */
const isControl = (ch: string): boolean => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f;
const secretString = rawString.refine((value) => !Array.from(value).some(isControl), {
  error: 'contains a line break or another control character (a trailing newline from a file or a paste?): remove it',
});

export const env = {
  /** A required (or defaulted) text value. */
  string(opts: FieldOptions & { default?: string; minLength?: number } = {}) {
    const min = opts.minLength ?? 1;
    const base = rawString
      .trim()
      .min(min, { error: min === 1 ? 'must not be empty' : `must be at least ${min} characters` });
    return withMeta(opts.default === undefined ? base : base.default(opts.default), {
      kind: 'string',
      ...(opts.default === undefined ? {} : { defaultValue: opts.default, defaultText: opts.default }),
      ...opts,
    });
  },

  /** An optional text value: undefined when unset. */
  optionalString(opts: FieldOptions = {}) {
    return withMeta(rawString.trim().optional(), { kind: 'string', ...opts });
  },

  /**
   * A required secret (API key, token): never printed, masked wherever its value appears. Control
   * characters are refused unless `multiline` (PEM text).
   */
  secret({ multiline, ...opts }: FieldOptions & { multiline?: boolean } = {}) {
    const base = multiline ? rawString : secretString;
    return withMeta(base.min(1, { error: 'is required' }), { kind: 'string', ...opts, secret: true });
  },

  /** An optional secret: undefined when unset. */
  optionalSecret({ multiline, ...opts }: FieldOptions & { multiline?: boolean } = {}) {
    const base = multiline ? rawString : secretString;
    return withMeta(base.min(1).optional(), { kind: 'string', ...opts, secret: true });
  },

  /** true/false with a default. */
  boolean(defaultValue: boolean, opts: FieldOptions = {}) {
    return withMeta(rawString.transform(parseBool).optional().default(defaultValue), {
      kind: 'boolean',
      defaultValue,
      defaultText: String(defaultValue),
      ...opts,
    });
  },

  /** true/false, or undefined when unset (the caller decides). */
  optionalBoolean(opts: FieldOptions = {}) {
    return withMeta(rawString.transform(parseBool).optional(), { kind: 'boolean', ...opts });
  },

  /** An integer within bounds. */
  int(opts: FieldOptions & { default?: number; min?: number; max?: number } = {}) {
    let num = z.number({ error: 'expected a whole number' }).int({ error: 'expected a whole number' });
    if (opts.min !== undefined) num = num.min(opts.min, { error: `expected a number >= ${opts.min}` });
    if (opts.max !== undefined) num = num.max(opts.max, { error: `expected a number <= ${opts.max}` });
    const parsed = rawString.transform((raw, ctx) => parseNumber(raw, ctx, 'integer')).pipe(num);
    return withMeta(opts.default === undefined ? parsed : parsed.optional().default(opts.default), {
      kind: 'integer',
      ...(opts.default === undefined ? {} : { defaultValue: opts.default, defaultText: String(opts.default) }),
      ...opts,
    });
  },

  /** A decimal number within bounds. */
  number(opts: FieldOptions & { default?: number; min?: number; max?: number } = {}) {
    let num = z.number();
    if (opts.min !== undefined) num = num.min(opts.min, { error: `expected a number >= ${opts.min}` });
    if (opts.max !== undefined) num = num.max(opts.max, { error: `expected a number <= ${opts.max}` });
    const parsed = rawString.transform((raw, ctx) => parseNumber(raw, ctx, 'decimal')).pipe(num);
    return withMeta(opts.default === undefined ? parsed : parsed.optional().default(opts.default), {
      kind: 'number',
      ...(opts.default === undefined ? {} : { defaultValue: opts.default, defaultText: String(opts.default) }),
      ...opts,
    });
  },

  /** One of a fixed set of values, compared case-insensitively, returned in the canonical spelling. */
  enum<const T extends string>(values: readonly [T, ...T[]], opts: FieldOptions & { default?: T } = {}) {
    const parsed = rawString.transform((raw, ctx): T => {
      const hit = values.find((v) => v.toLowerCase() === raw.trim().toLowerCase());
      if (hit === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(', ')}` });
        return z.NEVER;
      }
      return hit;
    });
    // zod types .default() with Awaited<T>, which TS cannot reduce for a generic T: the value is a T.
    const withDefault = opts.default === undefined ? parsed : parsed.optional().default(opts.default as never);
    return withMeta(withDefault, {
      kind: 'string',
      values,
      ...(opts.default === undefined ? {} : { defaultValue: opts.default, defaultText: opts.default }),
      ...opts,
    });
  },

  /** A comma-separated list (items trimmed, empties dropped), optionally restricted to allowed values. */
  list<const T extends string = string>(
    opts: FieldOptions & { default?: readonly T[]; allowed?: readonly T[]; lowerCase?: boolean } = {},
  ) {
    const parsed = rawString.transform((raw, ctx): T[] => {
      const items = raw
        .split(',')
        .map((s) => (opts.lowerCase ? s.trim().toLowerCase() : s.trim()))
        .filter((s) => s.length > 0);
      if (opts.allowed) {
        const bad = items
          .map((item, i) => ({ item, position: i + 1 }))
          .filter(({ item }) => !opts.allowed?.some((a) => a.toLowerCase() === item.toLowerCase()));
        if (bad.length > 0) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown value${bad.length > 1 ? 's' : ''} at position ${bad.map((b) => b.position).join(', ')}; expected a comma-separated list of ${opts.allowed.join(', ')}`,
          });
          return z.NEVER;
        }
        return items.map((i) => opts.allowed?.find((a) => a.toLowerCase() === i.toLowerCase()) as T);
      }
      return items as T[];
    });
    const def = opts.default ?? [];
    return withMeta(parsed.optional().default([...def] as T[]), {
      kind: 'array',
      defaultValue: [...def],
      defaultText: def.join(','),
      ...(opts.allowed ? { values: opts.allowed } : {}),
      ...opts,
    });
  },

  /** An absolute http(s) URL; a trailing slash is removed. */
  url(opts: FieldOptions & { default?: string; keepTrailingSlash?: boolean } = {}) {
    const parsed = rawString.transform((raw, ctx) => {
      const text = raw.trim();
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: `is not a valid URL (${describeBadUrl(text)})` });
        return z.NEVER;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        const scheme = /^[a-z][a-z0-9+.-]{0,9}:$/i.test(url.protocol) ? `${url.protocol.slice(0, -1)}: ` : 'another ';
        ctx.addIssue({ code: 'custom', message: `uses the ${scheme}scheme; expected an http:// or https:// URL` });
        return z.NEVER;
      }
      return opts.keepTrailingSlash ? text : text.replace(/\/+$/, '');
    });
    return withMeta(opts.default === undefined ? parsed : parsed.optional().default(opts.default), {
      kind: 'string',
      ...(opts.default === undefined ? {} : { defaultValue: opts.default, defaultText: opts.default }),
      ...opts,
    });
  },

  /**
   * A TLP level in either form (`amber+strict`, `TLP:AMBER+STRICT`, any case). The catalog lists the
   * lowercase spellings, as upstream's config schemas do; the compose files of the Python connectors use the other.
   */
  tlp(defaultValue: TlpLevel, opts: FieldOptions = {}) {
    const parsed = rawString.transform((raw, ctx): TlpLevel => {
      try {
        return parseTlp(raw);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a TLP level (clear, white, green, amber, amber+strict or red, with or without "TLP:")',
        });
        return z.NEVER;
      }
    });
    return withMeta(parsed.optional().default(defaultValue), {
      kind: 'string',
      values: TLP_SETTING_VALUES,
      defaultValue: tlpSettingValue(defaultValue),
      defaultText: tlpSettingValue(defaultValue),
      ...opts,
    });
  },

  /** An ISO-8601 duration (PT1H, P1D, 0); the output is in seconds. */
  duration(opts: FieldOptions & { default?: string; optional?: boolean } = {}) {
    const parsed = rawString.transform((raw, ctx) => {
      try {
        return parseDurationSeconds(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });
    if (opts.default !== undefined) {
      return withMeta(parsed.optional().default(parseDurationSeconds(opts.default)), {
        kind: 'string',
        defaultValue: opts.default,
        defaultText: opts.default,
        ...opts,
      });
    }
    return withMeta(opts.optional ? parsed.optional() : parsed, { kind: 'string', ...opts });
  },
};

/** A TLP setting's values as the catalog lists them: upstream's lowercase names, TLP:WHITE's included. */
export const TLP_SETTING_VALUES = ['clear', 'white', 'green', 'amber', 'amber+strict', 'red'] as const;

/** `TLP:AMBER+STRICT` → `amber+strict`: a level as the catalog spells it. */
function tlpSettingValue(level: TlpLevel): string {
  return level.slice('TLP:'.length).toLowerCase();
}

/** Why a URL does not parse, in words that never repeat any part of it (its user-info may hold a password). */
function describeBadUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    return 'expected an absolute URL such as https://host:port, with its scheme';
  if (/\s/.test(text)) return 'it contains a space';
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):([^/?#]*)/i.exec(text)?.[1];
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) <= 65535)) {
    return 'the port must be a number from 1 to 65535';
  }
  return 'expected an absolute URL such as https://host:port';
}
