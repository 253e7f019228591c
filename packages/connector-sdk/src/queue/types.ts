/**
 * The logging surface the queue layer needs. A pino logger fits it; so does a test recorder.
 */
export interface QueueLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A logger that drops everything, for callers that pass none. */
export const silentQueueLogger: QueueLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** An AMQP error as amqplib raises it: a numeric reply code (404, 406, 320...) when the broker sent one. */
export function amqpReplyCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The message of any thrown value, for log lines and wrapped errors. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
