/**
 * The seed's testing-mode flags, on top of the SDK's command line:
 *   -t, --test <domain or URL>   a dry-run enrichment (the SDK's `enrich <value> --type Domain-Name|Url`)
 *   -d, --debug                  debug logs (CONNECTOR_LOG_LEVEL=debug)
 *   -a, --active-only            ONLY_ACTIVE_URLS=true
 * Short flags combine as argparse allows (`-da`, `-dat example.com`, `-texample.com`). A flag on the
 * command line wins over the environment.
 */
import type { Env } from '@cti/connector-sdk';

export const LEGACY_FLAGS_HELP = [
  "Flags of the Python connector's testing mode (still accepted):",
  '  -t, --test <domain or URL>         dry-run enrichment: same as enrich <value> --type Domain-Name (or Url)',
  '  -d, --debug                        debug logs (CONNECTOR_LOG_LEVEL=debug)',
  '  -a, --active-only                  only scans whose page answered HTTP 200 (ONLY_ACTIVE_URLS=true)',
].join('\n');

/** The OpenCTI type of a `-t` value: a URL when it has a scheme, else a domain (the seed's example). */
export function testValueType(value: string): 'Url' | 'Domain-Name' {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim()) ? 'Url' : 'Domain-Name';
}

export function rewriteLegacyArgs(argv: readonly string[], env: Env): { argv: string[]; env: Env } {
  const rest: string[] = [];
  const overrides: Env = {};
  // undefined: no -t; null: -t without a value (the SDK then says "enrich needs a value").
  let test: string | null | undefined;
  const takeValue = (i: number): string | null => {
    const next = argv[i + 1];
    return next !== undefined && !next.startsWith('-') ? next : null;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--debug') overrides.CONNECTOR_LOG_LEVEL = 'debug';
    else if (arg === '--active-only') overrides.ONLY_ACTIVE_URLS = 'true';
    else if (arg === '--test') {
      test = takeValue(i);
      if (test !== null) i++;
    } else if (arg.startsWith('--test=')) test = arg.slice('--test='.length) || null;
    else if (arg.length > 1 && /^-[da]*(?:t.*)?$/.test(arg)) {
      const cluster = arg.slice(1);
      const t = cluster.indexOf('t');
      const flags = t === -1 ? cluster : cluster.slice(0, t);
      if (flags.includes('d')) overrides.CONNECTOR_LOG_LEVEL = 'debug';
      if (flags.includes('a')) overrides.ONLY_ACTIVE_URLS = 'true';
      if (t !== -1) {
        const attached = cluster.slice(t + 1);
        if (attached !== '') test = attached;
        else {
          test = takeValue(i);
          if (test !== null) i++;
        }
      }
    } else rest.push(arg);
  }

  if (test === undefined) return { argv: rest, env: { ...env, ...overrides } };
  const hasType = rest.some((a) => a === '--type' || a.startsWith('--type='));
  const command = test === null ? ['enrich'] : ['enrich', test, ...(hasType ? [] : ['--type', testValueType(test)])];
  return { argv: [...command, ...rest], env: { ...env, ...overrides } };
}
