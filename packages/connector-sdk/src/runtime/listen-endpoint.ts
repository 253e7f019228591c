/**
 * Where and how the HTTP listen endpoint serves, from the settings: the port and path, the URI registered
 * as `listen_callback_uri` (pycti 7 helper: `CONNECTOR_LISTEN_PROTOCOL_API_URI + _PATH`), and the TLS key
 * pair, each of key and certificate given as PEM text (starting with "-----BEGIN", as pycti tells them
 * apart) or as a file path. Every problem is a ConfigError naming the setting; no key byte is ever shown.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { BaseConfig } from '../config/index.js';
import { ConfigError, type ConfigIssue } from '../errors/index.js';

export interface ListenTls {
  key: string;
  cert: string;
  passphrase: string | undefined;
}

export interface ListenEndpoint {
  port: number;
  path: string;
  tls: ListenTls | null;
  /**
   * The URI registered with the platform, given the port the server is bound to (which differs from the
   * setting when it is 0). pycti's default URI always says port 7070; this one says the port in use.
   */
  callbackUri(boundPort: number): string;
}

type ListenSettings = Pick<
  BaseConfig,
  | 'CONNECTOR_LISTEN_PROTOCOL_API_PORT'
  | 'CONNECTOR_LISTEN_PROTOCOL_API_PATH'
  | 'CONNECTOR_LISTEN_PROTOCOL_API_URI'
  | 'CONNECTOR_LISTEN_PROTOCOL_API_SSL'
  | 'LISTEN_PROTOCOL_API_SSL_KEY'
  | 'LISTEN_PROTOCOL_API_SSL_CERT'
  | 'LISTEN_PROTOCOL_API_SSL_PASSPHRASE'
>;

/** The endpoint the settings describe; throws a ConfigError listing every problem. */
export function listenEndpoint(settings: ListenSettings): ListenEndpoint {
  const issues: ConfigIssue[] = [];
  let tls: ListenTls | null = null;
  if (settings.CONNECTOR_LISTEN_PROTOCOL_API_SSL) {
    const key = pemOrFile('LISTEN_PROTOCOL_API_SSL_KEY', settings.LISTEN_PROTOCOL_API_SSL_KEY, 'private key', issues);
    const cert = pemOrFile(
      'LISTEN_PROTOCOL_API_SSL_CERT',
      settings.LISTEN_PROTOCOL_API_SSL_CERT,
      'certificate',
      issues,
    );
    if (key !== null && cert !== null) {
      const passphrase = settings.LISTEN_PROTOCOL_API_SSL_PASSPHRASE;
      try {
        // The key pair is loaded now, so that a wrong passphrase or a certificate of another key stops the
        // start-up with a clear line instead of failing every TLS handshake later.
        createSecureContext({ key, cert, ...(passphrase ? { passphrase } : {}) });
        tls = { key, cert, passphrase };
      } catch (err) {
        issues.push({
          variable: 'LISTEN_PROTOCOL_API_SSL_KEY',
          message: `could not be used with LISTEN_PROTOCOL_API_SSL_CERT (${tlsProblem(err)})`,
        });
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const configured = settings.CONNECTOR_LISTEN_PROTOCOL_API_URI;
  const path = settings.CONNECTOR_LISTEN_PROTOCOL_API_PATH;
  const scheme = tls ? 'https' : 'http';
  return {
    port: settings.CONNECTOR_LISTEN_PROTOCOL_API_PORT,
    path,
    tls,
    callbackUri: (boundPort) => `${configured ?? `${scheme}://127.0.0.1:${boundPort}`}${path}`,
  };
}

function pemOrFile(variable: string, value: string | undefined, what: string, issues: ConfigIssue[]): string | null {
  if (value === undefined) {
    issues.push({
      variable,
      message: `is required when CONNECTOR_LISTEN_PROTOCOL_API_SSL is true (PEM text or a file path)`,
    });
    return null;
  }
  if (value.trimStart().startsWith('-----BEGIN')) return value;
  try {
    const text = readFileSync(value, 'utf8');
    if (!text.includes('-----BEGIN')) {
      issues.push({ variable, message: `names a file that holds no PEM ${what}` });
      return null;
    }
    return text;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    issues.push({
      variable,
      message: `is neither PEM text (-----BEGIN ...) nor a readable file (${code ?? 'unreadable'})`,
    });
    return null;
  }
}

/** OpenSSL's reason in words, without any of the key's bytes (its messages name reasons, never data). */
function tlsProblem(err: unknown): string {
  const reason = (err as { reason?: unknown }).reason;
  if (typeof reason === 'string' && reason !== '') return reason;
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_OSSL_BAD_DECRYPT') return 'wrong LISTEN_PROTOCOL_API_SSL_PASSPHRASE';
  return typeof code === 'string' ? code : 'unreadable key or certificate';
}
