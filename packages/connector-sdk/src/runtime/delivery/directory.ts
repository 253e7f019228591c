/**
 * CONNECTOR_SEND_TO_DIRECTORY: every bundle written as a JSON file, for air-gapped and data-diode set-ups
 * where another process carries the files to the platform (pycti 7, send_stix2_bundle in
 * opencti_connector_helper.py; reference/protocol-notes.md#send-to-directory).
 *
 * As pycti does: the file is named `<connector name, lower case, spaces as _>-<YYYYmmdd-HHMMSS local time>-
 * <seconds since the epoch as Python prints a float>.json`; it is written as `<name>.tmp` then renamed, so a
 * reader that takes `*.json` never sees a partial file; before each write, `*.json` files (and the `*.json.tmp`
 * of a killed write) older than the retention (days, 0 keeps every file) are deleted. The document is pycti's
 * DIRECTORY_BUNDLE envelope.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DeliveryError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { StixBundle } from '../../stix/index.js';

const PATH_SETTING = 'CONNECTOR_SEND_TO_DIRECTORY_PATH';
const NAME_SETTING = 'CONNECTOR_NAME';
const DAY_MS = 86_400_000;

/** What the envelope says about the connector (pycti's `connector` object). */
export interface DirectoryConnectorInfo {
  id: string;
  name: string;
  type: string;
  /** The raw CONNECTOR_SCOPE text, as pycti keeps it. */
  scope: string;
  auto: boolean;
  validateBeforeImport: boolean;
}

export interface DirectoryOutputOptions {
  path: string;
  /** Days; 0 keeps every file. */
  retentionDays: number;
  connector: DirectoryConnectorInfo;
  logger: Logger;
  /** Wall clock in milliseconds (tests); default Date.now with sub-millisecond precision. */
  clock?: () => number;
}

/**
 * The oldest modification time (ms since the epoch) a file may have and be kept, or null when nothing
 * expires (retention 0, or one so long that it reaches before the epoch).
 */
export function retentionCutoffMs(nowMs: number, retentionDays: number): number | null {
  if (!(retentionDays > 0)) return null;
  const cutoff = nowMs - retentionDays * DAY_MS;
  return Number.isFinite(cutoff) && cutoff > 0 ? cutoff : null;
}

/** Python's `str(float)` of an epoch time in seconds: the shortest round-trip digits, `.0` on whole numbers. */
export function pythonFloatText(seconds: number): string {
  const text = String(seconds);
  return Number.isInteger(seconds) ? `${text}.0` : text;
}

/** `time.strftime("%Y%m%d-%H%M%S")`: local time, as pycti's file names use it. */
export function localStamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}-${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}

/**
 * pycti's file name for a bundle written at `epochMs`. The name is lower-cased with spaces as `_` as pycti
 * does; a path separator (which made pycti write outside the directory or fail) becomes `_` too.
 */
export function bundleFileName(connectorName: string, epochMs: number): string {
  const base = connectorName.toLowerCase().replaceAll(' ', '_').replaceAll('/', '_').replaceAll('\\', '_');
  return `${base}-${localStamp(new Date(epochMs))}-${pythonFloatText(epochMs / 1000)}.json`;
}

const preciseNow = (): number => performance.timeOrigin + performance.now();

/** NAME_MAX of Linux's file systems (ext4, xfs, tmpfs, overlayfs), in bytes. */
const MAX_FILE_NAME_BYTES = 255;

/**
 * Why `connectorName` cannot name bundle files, or null: the longest name it gives (the epoch's float at its
 * 17 significant digits, and `.tmp` while written) must fit NAME_MAX, in UTF-8 bytes.
 */
export function connectorNameProblem(connectorName: string): string | null {
  const longest = `${bundleFileName(connectorName, 0).replace(/-0\.0\.json$/, '')}-${'9'.repeat(10)}.${'9'.repeat(7)}.json.tmp`;
  const bytes = Buffer.byteLength(longest);
  if (bytes > MAX_FILE_NAME_BYTES) {
    return `is too long for the bundle file names of CONNECTOR_SEND_TO_DIRECTORY (${bytes} bytes in UTF-8 with the time stamps, over the ${MAX_FILE_NAME_BYTES} a file name takes)`;
  }
  if (longest.includes('\0')) return 'holds a NUL character, which no file name takes';
  return null;
}

export class DirectoryOutput {
  private readonly clock: () => number;
  /** Last timestamp used in a name: two bundles in the same instant still get two files. */
  private lastMs = 0;

  private constructor(private readonly o: DirectoryOutputOptions) {
    this.clock = o.clock ?? preciseNow;
  }

  /**
   * Checks that the directory exists and that this process can create, rename and delete files in it (a
   * probe file, as permission bits do not tell for root, ACLs or a read-only mount), then returns the output.
   */
  static async open(options: DirectoryOutputOptions): Promise<DirectoryOutput> {
    const { path } = options;
    const badName = connectorNameProblem(options.connector.name);
    if (badName !== null) throw new DeliveryError(`${NAME_SETTING}: ${badName}`, NAME_SETTING);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (err) {
      throw new DeliveryError(`${PATH_SETTING}: ${path} cannot be used (${describeFsError(err)})`, PATH_SETTING, {
        cause: err,
      });
    }
    if (!info.isDirectory()) {
      throw new DeliveryError(`${PATH_SETTING}: ${path} is not a directory`, PATH_SETTING);
    }
    const probe = join(path, `.cti-write-check-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    try {
      const handle = await open(probe, 'wx');
      await handle.close();
      await unlink(probe);
    } catch (err) {
      await rm(probe, { force: true }).catch(() => undefined);
      throw new DeliveryError(
        `${PATH_SETTING}: this process cannot write files in ${path} (${describeFsError(err)})`,
        PATH_SETTING,
        { cause: err },
      );
    }
    return new DirectoryOutput(options);
  }

  get path(): string {
    return this.o.path;
  }

  /** Deletes expired files, then writes the bundle's file atomically. Returns the file's name. */
  async write(bundle: StixBundle, meta: { applicantId: string | null; update: boolean }): Promise<string> {
    const { path, connector, logger } = this.o;
    const nowMs = Math.max(this.clock(), this.lastMs + 0.001);
    this.lastMs = nowMs;
    await this.removeExpired(nowMs);
    const name = bundleFileName(connector.name, nowMs);
    const envelope = {
      bundle_type: 'DIRECTORY_BUNDLE',
      applicant_id: meta.applicantId,
      connector: {
        id: connector.id,
        name: connector.name,
        type: connector.type,
        scope: connector.scope,
        auto: connector.auto,
        validate_before_import: connector.validateBeforeImport,
      },
      entities_types: null,
      bundle,
      update: meta.update,
    };
    const temporary = join(path, `${name}.tmp`);
    try {
      const handle = await open(temporary, 'wx');
      try {
        await handle.writeFile(JSON.stringify(envelope), 'utf8');
        // On disk before the rename makes it visible: a crash leaves a .tmp, never a truncated .json.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, join(path, name));
    } catch (err) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw new DeliveryError(
        `Could not write the bundle file ${name} in ${path} (${PATH_SETTING}): ${describeFsError(err)}`,
        PATH_SETTING,
        { cause: err },
      );
    }
    logger.info({ directory: path, file: name, objects: bundle.objects.length }, 'bundle written to the directory');
    return name;
  }

  /**
   * pycti's retention: `*.json` files whose modification time is older than the retention are deleted; so are
   * `*.json.tmp` files, the partial files of writes killed before their rename (one older than the retention
   * is no write in progress).
   */
  private async removeExpired(nowMs: number): Promise<void> {
    const cutoff = retentionCutoffMs(nowMs, this.o.retentionDays);
    if (cutoff === null) return;
    const { path, logger } = this.o;
    let names: string[];
    try {
      names = await readdir(path);
    } catch (err) {
      throw new DeliveryError(
        `Could not list ${path} (${PATH_SETTING}) to apply the retention: ${describeFsError(err)}`,
        PATH_SETTING,
        { cause: err },
      );
    }
    for (const name of names) {
      if (!name.endsWith('.json') && !name.endsWith('.json.tmp')) continue;
      const file = join(path, name);
      try {
        const info = await stat(file);
        if (info.isFile() && info.mtimeMs < cutoff) {
          await unlink(file);
          logger.info(
            { directory: path, file: name },
            'expired bundle file deleted (CONNECTOR_SEND_TO_DIRECTORY_RETENTION)',
          );
        }
      } catch (err) {
        // Taken by another process (the one carrying files across) between the listing and now: not an error.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        logger.warn({ err, directory: path, file: name }, 'could not apply the retention to a bundle file');
      }
    }
  }
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: 'it does not exist',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOTDIR: 'a part of the path is not a directory',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
  };
  if (e?.code && reasons[e.code]) return `${reasons[e.code]}, ${e.code}`;
  return e?.code ?? (err instanceof Error ? err.message : String(err));
}
