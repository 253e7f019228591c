/**
 * pino loggers in the shape of pycti's JSON logs ({timestamp, level, name, message, attributes}), so the
 * log pipelines admins already run for the Python connectors keep working. Every line is redacted:
 * registered secret values, credential headers and fields, credentials inside URLs and error objects.
 */
import { Writable } from 'node:stream';
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../config/base.js';
import { redactDeep, redactString } from './redact.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** Logger name (the connector's name), pycti's `name` field. */
  name: string;
  level?: LogLevel;
  /** JSON lines (default) or readable lines for a terminal. */
  json?: boolean;
  /** Where lines go; default stdout, written synchronously so nothing is lost at exit. */
  destination?: DestinationStream | NodeJS.WritableStream;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARNING',
  50: 'ERROR',
  60: 'CRITICAL',
};

export function createLogger(options: LoggerOptions): Logger {
  const json = options.json ?? true;
  const target = options.destination ?? pino.destination({ dest: 1, sync: true });
  const destination = json ? target : prettyStream(target as NodeJS.WritableStream);
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      messageKey: 'message',
      errorKey: 'error',
      base: undefined,
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: {
        level: (_label, number) => ({ level: LEVEL_NAMES[number] ?? String(number) }),
        bindings: (bindings) => ({ name: bindings.name }),
        // Context goes under `attributes` (pycti's shape), redacted as a whole.
        log: (object) => (Object.keys(object).length === 0 ? {} : { attributes: redactDeep(object) }),
      },
      hooks: {
        // Messages are redacted too: an interpolated URL or error text may carry a credential.
        logMethod(args, method) {
          const redacted = args.map((a) => (typeof a === 'string' ? redactString(a) : a)) as typeof args;
          method.apply(this, redacted);
        },
      },
    },
    destination as DestinationStream,
  );
}

/** Readable lines for `pnpm dev`: `12:00:01 INFO  crowdsec: message {attributes}`. */
function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const rec = JSON.parse(line) as {
            timestamp?: string;
            level?: string;
            name?: string;
            message?: string;
            attributes?: unknown;
          };
          const time = rec.timestamp?.slice(11, 19) ?? '';
          const attrs = rec.attributes === undefined ? '' : ` ${JSON.stringify(rec.attributes)}`;
          out.write(`${time} ${(rec.level ?? '').padEnd(7)} ${rec.name ?? ''}: ${rec.message ?? ''}${attrs}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

/** A logger that drops everything (library defaults, tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
