/**
 * Reading docker/Dockerfile and .dockerignore for the image test (docker/test/image.test.ts): the test
 * machines have no Docker engine, so the test runs the Dockerfile's build stage outside Docker, on the
 * files .dockerignore lets through, and checks the rest of the file by reading it.
 */
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';

export interface Instruction {
  keyword: string;
  /** The arguments, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string | undefined>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let current = lines[i] ?? '';
    const trimmed = current.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    while (current.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      current = `${current.trimEnd().slice(0, -1)} ${(lines[++i] ?? '').trim()}`;
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(current);
    if (!match) throw new Error(`Dockerfile line ${start + 1}: cannot read "${current}"`);
    const keyword = (match[1] ?? '').toUpperCase();
    const args = (match[2] ?? '').trim();
    const instruction = { keyword, args, line: start + 1 };
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from?.[1]) throw new Error(`Dockerfile line ${start + 1}: cannot read FROM ${args}`);
      stages.push({ from: from[1], name: from[2] ?? null, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage) stage.instructions.push(instruction);
    else if (keyword === 'ARG') {
      const [name, value] = args.split('=', 2);
      if (name) globalArgs[name] = value;
    } else throw new Error(`Dockerfile line ${start + 1}: ${keyword} before the first FROM`);
  }
  return { globalArgs, stages };
}

/** `${NAME}` and `$NAME` replaced from `vars`; an unknown variable is an error. */
export function substitute(text: string, vars: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_all, a?: string, b?: string) => {
    const name = a ?? b ?? '';
    const value = vars[name];
    if (value === undefined) throw new Error(`no value for \${${name}}`);
    return value;
  });
}

/**
 * Docker's .dockerignore rule: patterns in order, the last one that matches a path or one of its parent
 * folders decides; `!` re-includes; `**` crosses folders, `*` and `?` do not.
 */
export function dockerignoreMatcher(source: string): (path: string) => boolean {
  const rules = source
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, regex: globToRegex(pattern) };
    });
  return (path: string) => {
    const parts = path.split('/');
    const candidates = parts.map((_p, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) {
      if (candidates.some((c) => rule.regex.test(c))) excluded = !rule.negate;
    }
    return excluded;
  };
}

function globToRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*' && pattern[i + 1] === '*') {
      if (pattern[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/**
 * The environment a stage's ENV instructions set, in order (a later ENV overrides an earlier one):
 * `ENV KEY=value KEY2="quoted value"`, or the legacy `ENV KEY value` (one variable, the rest of the line).
 */
export function envOf(stage: Pick<Stage, 'instructions'> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args, line } of stage?.instructions.filter((i) => i.keyword === 'ENV') ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
      const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$/.exec(args);
      if (!legacy?.[1]) throw new Error(`Dockerfile line ${line}: cannot read ENV ${args}`);
      env[legacy[1]] = legacy[2] ?? '';
      continue;
    }
    const pair = /\s*([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"']*)/y;
    let at = 0;
    while (at < args.length) {
      pair.lastIndex = at;
      const match = pair.exec(args);
      if (!match?.[1]) throw new Error(`Dockerfile line ${line}: cannot read ENV ${args}`);
      const raw = match[2] ?? '';
      env[match[1]] = raw.startsWith('"')
        ? raw.slice(1, -1).replace(/\\(.)/g, '$1')
        : raw.startsWith("'")
          ? raw.slice(1, -1)
          : raw;
      at = pair.lastIndex;
      while (args[at] === ' ' || args[at] === '\t') at++;
    }
  }
  return env;
}

/** The folder the runtime stage copies the bundle to (its WORKDIR), which /app paths in its ENV name. */
export const APP_DIR = '/app';

/**
 * The runtime stage's environment for a process started from `appDir` instead of /app: ENV values under /app
 * moved under `appDir`. Without `appDir` (a process started from the compiled sources, not from the image's
 * folder) the ENV values that name /app are left out rather than pointed at a folder that does not exist.
 */
export function runtimeEnv(stage: Pick<Stage, 'instructions'> | undefined, appDir?: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(envOf(stage))) {
    const underApp = value === APP_DIR || value.startsWith(`${APP_DIR}/`);
    if (!underApp) env[key] = value;
    else if (appDir !== undefined) env[key] = appDir + value.slice(APP_DIR.length);
  }
  return env;
}

/**
 * The runtime stage's RUN lines (its compile cache, made after the COPY), run outside Docker on a bundle
 * folder as if it were /app: through `sh -c` in `appDir`, with the stage's ENV (runtimeEnv) and ARG
 * defaults, as the current user (`RUNTIME_USER` is set to it; USER lines are checked by reading the file).
 */
export function runRuntimeStage(stage: Pick<Stage, 'instructions'> | undefined, appDir: string): void {
  const args: Record<string, string> = {};
  for (const i of stage?.instructions.filter((i) => i.keyword === 'ARG') ?? []) {
    const [name, value] = i.args.split('=', 2);
    if (name) args[name] = value ?? '';
  }
  args.RUNTIME_USER = userInfo().username;
  for (const step of stage?.instructions.filter((i) => i.keyword === 'RUN') ?? []) {
    const result = spawnSync('sh', ['-c', step.args], {
      cwd: appDir,
      env: { PATH: process.env.PATH, ...args, ...runtimeEnv(stage, appDir) },
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (result.status !== 0) {
      throw new Error(`Dockerfile line ${step.line} failed: ${step.args}\n${result.stdout}\n${result.stderr}`);
    }
  }
}
