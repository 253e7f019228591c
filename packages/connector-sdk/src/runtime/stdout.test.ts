import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { flushOutput, writeWithBackPressure } from './stdout.js';

/** A stream whose writes complete only when the test lets them (a reader that is not keeping up). */
function slowStream(highWaterMark: number) {
  const pending: Array<() => void> = [];
  const received: string[] = [];
  const stream = new Writable({
    highWaterMark,
    decodeStrings: false,
    write(chunk: string, _encoding, callback) {
      received.push(chunk);
      pending.push(() => callback());
    },
  });
  const releaseAll = async (): Promise<void> => {
    while (pending.length > 0) {
      pending.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { stream, received, releaseAll };
}

const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('writeWithBackPressure', () => {
  it('returns nothing to wait for while the buffer is under its high-water mark', () => {
    const { stream } = slowStream(1024);
    expect(writeWithBackPressure(stream, 'small')).toBeUndefined();
  });

  it('holds the writer back until the reader has taken the buffered text', async () => {
    const { stream, received, releaseAll } = slowStream(16);
    const wait = writeWithBackPressure(stream, 'x'.repeat(100));
    expect(wait).toBeInstanceOf(Promise);
    expect(await settled(wait as Promise<void>)).toBe(false);
    await releaseAll();
    await wait;
    expect(received.join('')).toHaveLength(100);
  });

  it('does not wait forever on a stream that fails or closes', async () => {
    const { stream } = slowStream(16);
    stream.on('error', () => undefined);
    const wait = writeWithBackPressure(stream, 'x'.repeat(100));
    stream.destroy(new Error('EPIPE'));
    await expect(wait).resolves.toBeUndefined();
  });
});

describe('flushOutput', () => {
  it('resolves only once every earlier write has been handed over', async () => {
    const { stream, received, releaseAll } = slowStream(1024);
    stream.write('a');
    stream.write('b');
    const flushed = flushOutput(stream);
    expect(await settled(flushed)).toBe(false);
    await releaseAll();
    await flushed;
    expect(received.join('')).toBe('ab');
  });

  it('resolves at once when nothing is buffered', async () => {
    const { stream } = slowStream(1024);
    expect(await settled(flushOutput(stream))).toBe(true);
  });
});

describe('a process that prints more than the pipe holds, then exits', () => {
  const module = fileURLToPath(new URL('./stdout.ts', import.meta.url));
  const MB = 2 ** 20;

  /** Prints 8 MB in 1 MB pieces, then process.exit(0) as main.ts does; the reader starts late and reads slowly. */
  async function printed(careful: boolean): Promise<number> {
    const script = careful
      ? `const { writeWithBackPressure, flushOutput } = await import(${JSON.stringify(module)});
         for (let i = 0; i < 8; i++) await writeWithBackPressure(process.stdout, 'x'.repeat(${MB}));
         await flushOutput(process.stdout);
         process.exit(0);`
      : `for (let i = 0; i < 8; i++) process.stdout.write('x'.repeat(${MB}));
         process.exit(0);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let bytes = 0;
    const stdout = child.stdout;
    stdout.pause();
    stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // A slow reader: the writer is always ahead of it.
      stdout.pause();
      setTimeout(() => stdout.resume(), 1);
    });
    setTimeout(() => stdout.resume(), 300);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    return bytes;
  }

  it('loses what the reader had not taken when it writes without back-pressure (why this module exists)', async () => {
    expect(await printed(false)).toBeLessThan(8 * MB);
  }, 60_000);

  it('delivers every byte with writeWithBackPressure and flushOutput', async () => {
    expect(await printed(true)).toBe(8 * MB);
  }, 60_000);
});
