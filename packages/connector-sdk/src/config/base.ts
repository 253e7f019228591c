/**
 * The settings every connector shares, with pycti's env names and defaults (reference/protocol-notes.md#settings).
 * A connector's own shape is spread over this one, so it can override a default (its scope, its name).
 */
import { z } from 'zod';
import { env } from './fields.js';
import { listenConfig } from './listen.js';

export const CONNECTOR_TYPES = [
  'EXTERNAL_IMPORT',
  'INTERNAL_ENRICHMENT',
  'INTERNAL_IMPORT_FILE',
  'INTERNAL_EXPORT_FILE',
  'INTERNAL_ANALYSIS',
  'STREAM',
] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

/** pino level names; CONNECTOR_LOG_LEVEL also accepts Python's `warning` and any case. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const logLevel = z
  .string()
  .transform((raw, ctx): LogLevel => {
    const v = raw.trim().toLowerCase();
    if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
    if (v === 'warning') return 'warn';
    if (v === 'critical' || v === 'fatal') return 'error';
    ctx.addIssue({ code: 'custom', message: 'expected debug, info, warn (or warning) or error' });
    return z.NEVER;
  })
  .optional()
  .default('info')
  .meta({
    // Python's critical and fatal are read as error too; the catalog offers upstream's list.
    cti: {
      kind: 'string',
      values: ['debug', 'info', 'warn', 'warning', 'error'],
      defaultValue: 'info',
      defaultText: 'info',
    },
    description: 'Log level: debug, info, warn (or warning), error',
  });

/** OPENCTI_SSL_VERIFY: a boolean, or the path of a CA bundle (as requests' `verify`). */
const sslVerify = z
  .string()
  .transform((raw): boolean | string => {
    const v = raw.trim().toLowerCase();
    if (['true', 'yes', '1', 'on'].includes(v)) return true;
    if (['false', 'no', '0', 'off'].includes(v)) return false;
    return raw.trim();
  })
  .optional()
  .default(false)
  .meta({
    cti: { defaultText: 'false' },
    description: 'Verify the OpenCTI TLS certificate: true, false (pycti default), or a CA bundle path',
  });

/** OPENCTI_CUSTOM_HEADERS: "h1:v1;h2:v2" (pycti's format). */
const customHeaders = z
  .string()
  .transform((raw, ctx) => {
    const headers: Record<string, string> = {};
    for (const pair of raw.split(';')) {
      if (pair.trim() === '') continue;
      const at = pair.indexOf(':');
      if (at <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected "name:value;name:value", got a pair without ":"` });
        return z.NEVER;
      }
      headers[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
    return headers;
  })
  .optional()
  // Secret: this is where admins put the credentials of a proxy in front of OpenCTI (Cloudflare Access'
  // CF-Access-Client-Secret, an X-Auth header). Header names stay readable in logs; values are masked.
  .meta({
    cti: { secret: true, description: 'Extra headers sent to OpenCTI, "name:value;name:value"' },
    description: 'Extra headers sent to OpenCTI, "name:value;name:value"',
  });

export const baseConfig = {
  OPENCTI_URL: env.url({ description: 'The OpenCTI platform URL, e.g. http://opencti:8080' }),
  OPENCTI_TOKEN: env.secret({ description: 'The API token of the connector user in OpenCTI' }),
  OPENCTI_SSL_VERIFY: sslVerify,
  OPENCTI_JSON_LOGGING: env.boolean(true, { description: 'JSON log lines (true) or readable lines (false)' }),
  OPENCTI_CUSTOM_HEADERS: customHeaders,

  CONNECTOR_ID: env.string({ description: 'A stable UUIDv4 identifying this connector instance' }),
  CONNECTOR_NAME: env.string({ minLength: 2, description: 'The name shown in OpenCTI' }),
  CONNECTOR_TYPE: env
    .enum(CONNECTOR_TYPES, { description: 'Accepted for compatibility; must match the connector' })
    .optional(),
  CONNECTOR_SCOPE: env.list({ description: 'Comma-separated entity types (or MIME types) the connector handles' }),
  CONNECTOR_AUTO: env.boolean(false, { description: 'Enrich automatically when an entity in scope is created' }),
  CONNECTOR_AUTO_UPDATE: env.boolean(false, {
    description: 'Enrich automatically when an entity in scope is updated too (OpenCTI 6.8.9 and later)',
  }),
  CONNECTOR_ENRICHMENT_RESOLUTION: env.enum(['none', 'stix_bundle'], {
    default: 'none',
    description:
      'none: the connector reads the entity itself (pycti default); stix_bundle: OpenCTI sends the entity and its context as STIX (6.8.9 and later)',
  }),
  CONNECTOR_ONLY_CONTEXTUAL: env.boolean(false),
  CONNECTOR_LOG_LEVEL: logLevel,
  CONNECTOR_CONFIDENCE_LEVEL: env
    .int({ min: 0, max: 100, description: 'Confidence (0-100) set on created objects' })
    .optional(),
  CONNECTOR_DURATION_PERIOD: env.duration({
    optional: true,
    description: 'Time between two import runs, ISO-8601 (PT1H, P1D, P1M), from PT1S to P100Y; 0 runs once',
  }),
  CONNECTOR_QUEUE_THRESHOLD: env.number({
    default: 500,
    min: 0,
    description: 'Skip import runs while the push queue holds more than this many MB',
  }),
  CONNECTOR_RUN_AND_TERMINATE: env.boolean(false, { description: 'Run one import and exit 0' }),
  CONNECTOR_UPDATE_EXISTING_DATA: env.boolean(false, { description: 'Ask the worker to update existing data' }),
  CONNECTOR_QUEUE_PROTOCOL: env.enum(['amqp', 'api'], {
    default: 'amqp',
    aliases: ['QUEUE_PROTOCOL'],
    description: 'How bundles reach OpenCTI: amqp (RabbitMQ) or api (the stixBundlePush mutation)',
  }),
  // Delivery modes (pycti's send_stix2_bundle): review before import, queueing, a copy to a directory.
  CONNECTOR_VALIDATE_BEFORE_IMPORT: env.boolean(false, {
    description:
      'Send each bundle for review instead of importing it: a workbench file, or a draft when the request asks for one',
  }),
  CONNECTOR_VALIDATION_MODE: env.enum(['workbench', 'draft'], {
    default: 'workbench',
    description:
      'Where a bundle under review goes when the request does not say (an import never does): workbench (pycti) or draft',
  }),
  CONNECTOR_SEND_TO_QUEUE: env.boolean(true, {
    description: 'Send bundles to OpenCTI (false: only to CONNECTOR_SEND_TO_DIRECTORY_PATH)',
  }),
  CONNECTOR_SEND_TO_DIRECTORY: env.boolean(false, {
    description: 'Also write every bundle as a JSON file in CONNECTOR_SEND_TO_DIRECTORY_PATH',
  }),
  CONNECTOR_SEND_TO_DIRECTORY_PATH: env.optionalString({
    description: 'The directory bundle files are written to (must exist and be writable)',
  }),
  CONNECTOR_SEND_TO_DIRECTORY_RETENTION: env.int({
    default: 7,
    min: 0,
    description: 'Days a bundle file is kept in that directory before it is deleted; 0 keeps them all',
  }),
  CONNECTOR_PREFETCH: env.int({
    default: 1,
    min: 1,
    max: 100,
    description: 'Enrichment requests processed at once by this process (on either listen protocol)',
  }),
  ...listenConfig,
  CONNECTOR_EXPOSE_METRICS: env.boolean(false, { description: 'Serve Prometheus metrics and /health' }),
  CONNECTOR_METRICS_PORT: env.int({ default: 9095, min: 0, max: 65535 }),
  CONNECTOR_RATE_LIMIT_REDIS_URL: env.optionalString({
    description: 'Redis URL to share vendor rate limits between replicas (redis://host:6379)',
  }),

  MQ_HOST: env.optionalString({ description: 'Overrides the RabbitMQ host the platform advertises' }),
  MQ_PORT: env.int({ min: 1, max: 65535 }).optional(),
  MQ_VHOST: env.optionalString(),
  MQ_USE_SSL: env.optionalBoolean(),
  MQ_USER: env.optionalString(),
  MQ_PASS: env.optionalSecret(),
  MQ_USE_SSL_CA: env.optionalString({ description: 'CA certificate (PEM text or file path) for AMQP over TLS' }),
  MQ_USE_SSL_CERT: env.optionalString(),
  MQ_USE_SSL_KEY: env.optionalSecret({ multiline: true }),
  MQ_USE_SSL_PASSPHRASE: env.optionalSecret(),
  MQ_USE_SSL_REJECT_UNAUTHORIZED: env.boolean(false),
} satisfies Record<string, z.ZodType>;

export type BaseConfig = z.output<z.ZodObject<typeof baseConfig>>;
