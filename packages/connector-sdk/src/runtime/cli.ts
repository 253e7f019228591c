/**
 * The command line every connector's dist/main.js understands:
 *   node dist/main.js                       the daemon (what the image runs)
 *   node dist/main.js enrich <value> [--type <OpenCTI type>] [--tlp <TLP>]   dry-run enrichment, bundle on stdout
 *   node dist/main.js import --dry-run [--state '<json>']                    dry-run import run, NDJSON on stdout
 *   node dist/main.js --help | --version
 */
import { parseArgs } from 'node:util';

export type Command =
  | { kind: 'daemon' }
  | { kind: 'enrich'; value: string; type: string | null; tlp: string | null }
  | { kind: 'import'; state: string | null }
  | { kind: 'help' }
  | { kind: 'version' };

export class UsageError extends Error {}

export function parseCommand(argv: readonly string[]): Command {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      type: { type: 'string' },
      tlp: { type: 'string' },
      'dry-run': { type: 'boolean' },
      state: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const [verb, ...rest] = positionals;
  if (verb === undefined || verb === 'daemon') {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    return { kind: 'daemon' };
  }
  if (verb === 'enrich') {
    const value = rest[0];
    if (!value) throw new UsageError('enrich needs a value: enrich <value> [--type <type>]');
    if (rest.length > 1) throw new UsageError(`unexpected argument "${rest[1]}"`);
    return { kind: 'enrich', value, type: values.type ?? null, tlp: values.tlp ?? null };
  }
  if (verb === 'import') {
    if (!values['dry-run']) {
      throw new UsageError(
        'import only runs as --dry-run; the daemon (no arguments) imports, once with CONNECTOR_RUN_AND_TERMINATE=true',
      );
    }
    return { kind: 'import', state: values.state ?? null };
  }
  throw new UsageError(`unknown command "${verb}"`);
}
