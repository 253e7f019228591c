/**
 * Writing a dry run's output to stdout. On a pipe, Node queues in memory whatever the reader has not taken
 * yet, without limit, and `process.exit` drops that queue: a dry run piped into a slower reader held every
 * bundle it printed (hundreds of MB over a large import) and then lost the last ones.
 */

/** What is used of a Writable (process.stdout in production). */
export interface OutputStream {
  write(chunk: string, callback?: (err?: Error | null) => void): boolean;
  readonly writableLength: number;
  readonly destroyed: boolean;
  once(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  off(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
}

/**
 * Writes `text`; when the stream's buffer is over its high-water mark, the promise settles only once it has
 * drained (or the stream is closed or failed), so the caller produces no more than the reader takes.
 */
export function writeWithBackPressure(stream: OutputStream, text: string): Promise<void> | undefined {
  if (stream.write(text)) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

/** Resolves once everything written so far has been handed to the OS (or the stream has failed). */
export function flushOutput(stream: OutputStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  // A write's callback runs after every earlier write has been flushed, with an error if the stream failed.
  return new Promise((resolve) => stream.write('', () => resolve()));
}
