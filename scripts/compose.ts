/**
 * Reading docker compose files for the tests (docker/test/compose.test.ts), and finding a docker-compose
 * that can validate them: Debian's `docker-compose` package or the `docker compose` plugin, neither of
 * which needs a Docker engine for `config`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseYaml, type YamlValue } from './yaml.js';

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, string> };
  /** NAME → value, in the file's order, whichever form the file used. */
  environment: Map<string, string>;
  restart?: string;
  init?: boolean;
  networks?: string[];
  raw: Record<string, YamlValue>;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  networks: Record<string, YamlValue>;
}

function isRecord(value: YamlValue | undefined): value is { [key: string]: YamlValue } {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

function text(value: YamlValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') throw new Error(`expected a scalar, got ${JSON.stringify(value)}`);
  return String(value);
}

/** `environment:` as a list of NAME=value (or bare NAME) or as a mapping; a repeated name is an error. */
export function environmentOf(value: YamlValue | undefined, where: string): Map<string, string> {
  const env = new Map<string, string>();
  const set = (name: string, v: string) => {
    if (env.has(name)) throw new Error(`${where}: ${name} is set twice`);
    env.set(name, v);
  };
  if (value === undefined || value === null) return env;
  if (Array.isArray(value)) {
    for (const item of value) {
      const entry = text(item) ?? '';
      const at = entry.indexOf('=');
      if (at < 0) set(entry, '');
      else set(entry.slice(0, at), entry.slice(at + 1));
    }
    return env;
  }
  if (isRecord(value)) {
    for (const [name, v] of Object.entries(value)) set(name, text(v) ?? '');
    return env;
  }
  throw new Error(`${where}: environment must be a list or a mapping`);
}

export function parseCompose(source: string, where: string): ComposeFile {
  const doc = parseYaml(source);
  if (!isRecord(doc)) throw new Error(`${where}: not a mapping`);
  const services: Record<string, ComposeService> = {};
  const rawServices = doc.services;
  if (!isRecord(rawServices)) throw new Error(`${where}: no services`);
  for (const [name, raw] of Object.entries(rawServices)) {
    if (!isRecord(raw)) throw new Error(`${where}: service ${name} is not a mapping`);
    const service: ComposeService = { environment: environmentOf(raw.environment, `${where} ${name}`), raw };
    const image = text(raw.image);
    if (image !== undefined) service.image = image;
    if (isRecord(raw.build)) {
      const args: Record<string, string> = {};
      if (isRecord(raw.build.args)) for (const [k, v] of Object.entries(raw.build.args)) args[k] = text(v) ?? '';
      const build: NonNullable<ComposeService['build']> = { args };
      const context = text(raw.build.context);
      const dockerfile = text(raw.build.dockerfile);
      if (context !== undefined) build.context = context;
      if (dockerfile !== undefined) build.dockerfile = dockerfile;
      service.build = build;
    }
    const restart = text(raw.restart);
    if (restart !== undefined) service.restart = restart;
    if (typeof raw.init === 'boolean') service.init = raw.init;
    if (Array.isArray(raw.networks)) service.networks = raw.networks.map((n) => text(n) ?? '');
    else if (isRecord(raw.networks)) service.networks = Object.keys(raw.networks);
    services[name] = service;
  }
  return { services, networks: isRecord(doc.networks) ? doc.networks : {} };
}

export function readCompose(path: string): ComposeFile {
  return parseCompose(readFileSync(path, 'utf8'), path);
}

export interface ComposeTool {
  /** How the tool is named in messages. */
  name: string;
  command: string;
  prefix: string[];
}

/** A docker-compose able to run `config`, or null. */
export function findComposeTool(): ComposeTool | null {
  const candidates: ComposeTool[] = [
    { name: 'docker-compose', command: 'docker-compose', prefix: [] },
    { name: 'docker compose', command: 'docker', prefix: ['compose'] },
  ];
  for (const tool of candidates) {
    const probe = spawnSync(tool.command, [...tool.prefix, 'version'], { encoding: 'utf8', timeout: 30_000 });
    if (probe.status === 0) return tool;
  }
  return null;
}

export interface ComposeConfigResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `docker-compose -f a -f b config`: validates the files and prints the merged, normalised result. */
export function composeConfig(
  tool: ComposeTool,
  files: readonly string[],
  env: Record<string, string | undefined>,
): ComposeConfigResult {
  const args = [...tool.prefix, ...files.flatMap((f) => ['-f', f]), 'config'];
  const run = spawnSync(tool.command, args, { encoding: 'utf8', timeout: 60_000, env });
  return { status: run.status, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}
