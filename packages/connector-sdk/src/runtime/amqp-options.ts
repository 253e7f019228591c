/** The broker connection: what registration advertised, overridden by the MQ_* settings as pycti does. */
import { readFileSync } from 'node:fs';
import type { BaseConfig } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { RegisteredConnector } from '../opencti/index.js';
import type { AmqpSessionOptions } from '../queue/index.js';

export function amqpOptions(
  registered: RegisteredConnector,
  settings: BaseConfig,
  logger: Logger,
  connectionName: string,
): AmqpSessionOptions {
  const advertised = registered.config.connection;
  return {
    hostname: settings.MQ_HOST ?? advertised.host,
    port: settings.MQ_PORT ?? advertised.port,
    vhost: settings.MQ_VHOST ?? advertised.vhost,
    username: settings.MQ_USER ?? advertised.user,
    password: settings.MQ_PASS ?? advertised.pass,
    useSsl: settings.MQ_USE_SSL ?? advertised.use_ssl,
    ca: pem(settings.MQ_USE_SSL_CA, 'MQ_USE_SSL_CA'),
    cert: pem(settings.MQ_USE_SSL_CERT, 'MQ_USE_SSL_CERT'),
    key: pem(settings.MQ_USE_SSL_KEY, 'MQ_USE_SSL_KEY'),
    passphrase: settings.MQ_USE_SSL_PASSPHRASE,
    rejectUnauthorized: settings.MQ_USE_SSL_REJECT_UNAUTHORIZED,
    connectionName,
    logger,
  };
}

/** A PEM setting holds the PEM text itself, or the path of a file with it. */
function pem(value: string | undefined, variable: string): string | undefined {
  if (value === undefined || value.trim().startsWith('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // The value is not shown: MQ_USE_SSL_KEY is a secret, and may be a key pasted without its PEM header.
    throw new ConfigError(
      [{ variable, message: `is neither PEM text nor a readable file (${String(code ?? 'unreadable')})` }],
      { cause: err },
    );
  }
}
