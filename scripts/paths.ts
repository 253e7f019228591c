/** Where things are, for the repository's scripts and their tests. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The connectors' original READMEs (their env var names are the contract). They live next to the
 * repository, in ../shared/seeds; CTI_SEEDS_DIR points elsewhere. A fresh clone has none: the names are
 * then read from docker/test/seed-settings.json, which `pnpm metadata` extracts from them.
 */
export const SEEDS_DIR = process.env.CTI_SEEDS_DIR ?? join(REPO_ROOT, '..', 'shared', 'seeds');

/** Repository-relative, as generated files are named. */
export const SEED_SETTINGS_PATH = 'docker/test/seed-settings.json';
export const SEED_SETTINGS_FILE = join(REPO_ROOT, SEED_SETTINGS_PATH);
