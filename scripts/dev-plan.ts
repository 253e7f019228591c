/**
 * How `pnpm dev` starts a connector (scripts/dev.ts): from its TypeScript sources with tsx, in its own
 * folder so the SDK reads its .env, with readable log lines unless OPENCTI_JSON_LOGGING was chosen.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readEnvironment } from '@cti/connector-sdk/internal';
import { REPO_ROOT } from './paths.js';

export interface DevPlan {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** Lines to print before starting. */
  notes: string[];
}

/**
 * How to start the connector: in its folder (so the SDK reads its .env), readable logs unless the
 * environment or the .env file chose a format.
 */
export function devPlan(
  slug: string,
  connectorArgs: readonly string[],
  options: { once?: boolean; env?: Record<string, string | undefined>; root?: string } = {},
): DevPlan {
  const root = options.root ?? REPO_ROOT;
  const cwd = join(root, 'connectors', slug);
  const env = { ...(options.env ?? process.env) };
  const dotenv = join(cwd, '.env');
  const notes: string[] = [];
  if (existsSync(dotenv)) {
    notes.push(`dev: settings from the environment, then connectors/${slug}/.env`);
  } else {
    notes.push(
      `dev: connectors/${slug}/.env not found: settings from the environment only` +
        ` (cp connectors/${slug}/.env.example connectors/${slug}/.env, then fill it in)`,
    );
  }
  const merged = readEnvironment({ env, dotenvPath: dotenv });
  if (merged.OPENCTI_JSON_LOGGING === undefined || merged.OPENCTI_JSON_LOGGING.trim() === '') {
    env.OPENCTI_JSON_LOGGING = 'false';
  }
  const tsxArgs = options.once ? [] : ['watch', '--clear-screen=false'];
  return {
    command: join(root, 'node_modules', '.bin', 'tsx'),
    args: [...tsxArgs, '--conditions=@cti/source', 'src/main.ts', ...connectorArgs],
    cwd,
    env,
    notes,
  };
}
