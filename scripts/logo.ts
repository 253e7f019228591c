/**
 * The catalog's logo of a connector (`__metadata__/logo.png`): the folder's own `logo.png` when it has one
 * (a logo the project may use), else one drawn from its slug, a symmetric 5×5 pattern in a colour of its own,
 * so that every connector has a logo no one has to draw and none is taken from a vendor.
 *
 * PNG encoding goes through the deflate of the Node version at hand, whose bytes may change with it: a drawn
 * logo is compared by its pixels (`samePixels`), never by its bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';

/** Upstream's recommended logo size; the largest logo a folder may bring. */
export const LOGO_SIZE = 256;
/** The catalog file embeds every logo, base64: a logo's file stays well under what upstream's weigh (3-55 KB). */
export const LOGO_MAX_BYTES = 128 * 1024;

const GRID = 5;
const CELL = 40;
const MARGIN = (LOGO_SIZE - GRID * CELL) / 2;
const BACKGROUND: Rgb = [0xf2, 0xf4, 0xf7];

type Rgb = readonly [number, number, number];

/** HSL (hue in degrees, saturation and lightness 0-1) to RGB bytes. */
function hsl(hue: number, saturation: number, lightness: number): Rgb {
  const k = (n: number) => (n + hue / 30) % 12;
  const a = saturation * Math.min(lightness, 1 - lightness);
  const f = (n: number) => lightness - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

/** Which cells of the 5×5 grid are filled: 15 bits of the digest for the left three columns, mirrored. */
function pattern(digest: Buffer): boolean[][] {
  const bits = (digest.readUInt16BE(2) & 0x7fff).toString(2).padStart(15, '0');
  // Too few cells make a logo that is mostly blank: take the complement, which has at least 8.
  const filled =
    [...bits].filter((b) => b === '1').length < 5 ? [...bits].map((b) => (b === '1' ? '0' : '1')) : [...bits];
  return Array.from({ length: GRID }, (_, row) =>
    Array.from({ length: GRID }, (_, col) => filled[row * 3 + Math.min(col, GRID - 1 - col)] === '1'),
  );
}

/** A connector's drawn logo, LOGO_SIZE pixels square, as a PNG: the same slug always gives the same pixels. */
export function drawLogo(slug: string): Buffer {
  const digest = createHash('sha256').update(slug).digest();
  const colour = hsl((digest.readUInt16BE(0) / 0x10000) * 360, 0.55, 0.45);
  const cells = pattern(digest);
  const png = new PNG({ width: LOGO_SIZE, height: LOGO_SIZE, colorType: 2 });
  for (let y = 0; y < LOGO_SIZE; y++) {
    for (let x = 0; x < LOGO_SIZE; x++) {
      const col = Math.floor((x - MARGIN) / CELL);
      const row = Math.floor((y - MARGIN) / CELL);
      const inGrid = x >= MARGIN && y >= MARGIN && col < GRID && row < GRID;
      const [r, g, b] = inGrid && cells[row]?.[col] ? colour : BACKGROUND;
      const at = (y * LOGO_SIZE + x) * 4;
      png.data[at] = r;
      png.data[at + 1] = g;
      png.data[at + 2] = b;
      png.data[at + 3] = 0xff;
    }
  }
  return PNG.sync.write(png, { colorType: 2 });
}

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, rows top to bottom. */
  data: Buffer;
}

/** Decodes a PNG; throws on anything else (a truncated file, a bad checksum, another format). */
export function decodePng(bytes: Buffer): DecodedImage {
  const { width, height, data } = PNG.sync.read(bytes);
  return { width, height, data };
}

/** Whether two PNG files show the same picture; an undecodable one shows none. */
export function samePixels(a: Buffer, b: Buffer): boolean {
  try {
    const x = decodePng(a);
    const y = decodePng(b);
    return x.width === y.width && x.height === y.height && x.data.equals(y.data);
  } catch {
    return false;
  }
}

/**
 * The folder's own logo (`connectors/<slug>/logo.png`), checked; null when it has none.
 *
 * @throws Error naming the file when it is not a PNG of at most LOGO_SIZE pixels square and LOGO_MAX_BYTES.
 */
export function folderLogo(dir: string, where: string): Buffer | null {
  const file = join(dir, 'logo.png');
  if (!existsSync(file)) return null;
  const bytes = readFileSync(file);
  if (bytes.length > LOGO_MAX_BYTES) {
    throw new Error(`${where}/logo.png is ${bytes.length} bytes; the catalog embeds it: at most ${LOGO_MAX_BYTES}`);
  }
  let image: DecodedImage;
  try {
    image = decodePng(bytes);
  } catch (err) {
    throw new Error(`${where}/logo.png is not a PNG image (${(err as Error).message})`);
  }
  if (image.width > LOGO_SIZE || image.height > LOGO_SIZE) {
    throw new Error(
      `${where}/logo.png is ${image.width}x${image.height} pixels; the catalog embeds it as it is: at most ${LOGO_SIZE}x${LOGO_SIZE}`,
    );
  }
  return bytes;
}
