/**
 * `node scripts/bundle.ts <slug> <out>`: what the image of connectors/<slug> holds, built into <out>:
 *   dist/main.js   the connector's compiled entry (tsc -b first), the SDK and every dependency it loads,
 *                  bundled by esbuild into one ES module (node_modules is not shipped at all);
 *   package.json   the connector's name and version (read at run time for --version and the manifest's
 *                  container_version), "type": "module";
 *   licenses/      the license file of every third-party package bundled, as their licenses ask.
 * Why: loading one file instead of ~150 modules resolved through node_modules halves the start-up, and the
 * image shrinks from the 25 MB of `pnpm deploy --prod` (7.5 MB of it zod's locales and type declarations)
 * to what the connector runs. Dependencies stay lazy where the SDK imports them lazily (ioredis only with
 * CONNECTOR_RATE_LIMIT_REDIS_URL, the proxy agents only with a proxy): esbuild's code splitting puts each
 * in a chunk of its own next to main.js, read only when imported.
 * Self-contained (node: modules and esbuild only) so the image's build stage runs it with plain node.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A plugin that bundles `contents` in place of every file whose path matches `filter`. */
function replacedModule(name: string, filter: RegExp, contents: string): Plugin {
  return {
    name,
    setup(build) {
      build.onLoad({ filter }, () => ({ contents, loader: 'js' }));
    },
  };
}

/**
 * axios's fetch adapter, left out: the SDK's vendor client sets `adapter: 'http'` (http/transport.ts), and
 * importing the fetch adapter probes `new Request(...)` at load, which makes Node load its whole fetch
 * implementation (undici): about 40 ms of every start-up for code never run. Asking axios for the fetch
 * adapter now fails with axios's own "adapter is not available in the build" error.
 */
const withoutAxiosFetchAdapter = replacedModule(
  'without-axios-fetch-adapter',
  /[\\/]axios[\\/]lib[\\/]adapters[\\/]fetch\.js$/,
  'export const getFetch = () => false;\nexport default false;\n',
);

/**
 * axios's load-time look at `globalThis.FormData`, left out: reading that global makes Node load its fetch
 * implementation (undici), about 7.5 MB of every daemon's idle memory, for a class the SDK never hands axios.
 * axios still recognises a FormData without it (its `[object FormData]` check). An axios whose utils.js no
 * longer holds the line fails the bundle here rather than bringing undici back unnoticed.
 */
const AXIOS_FORM_DATA_PROBE = "const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;";
const withoutAxiosFormDataProbe: Plugin = {
  name: 'without-axios-form-data-probe',
  setup(build) {
    build.onLoad({ filter: /[\\/]axios[\\/]lib[\\/]utils\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(AXIOS_FORM_DATA_PROBE)) {
        throw new Error(
          `${args.path} no longer reads globalThis.FormData as expected: update withoutAxiosFormDataProbe`,
        );
      }
      return { contents: source.replace(AXIOS_FORM_DATA_PROBE, 'const FormDataCtor = undefined;'), loader: 'js' };
    });
  },
};

/**
 * `node:http` as a CommonJS require, for every ES module import of it (the SDK's, axios's, the proxy agents'):
 * Node's ES module view of a built-in reads every export once, and node:http's WebSocket, CloseEvent and
 * MessageEvent are getters that load undici (Node 24: `import 'node:http'` alone costs 7.5 MB of idle memory).
 * The view here re-exports node:http's plain values only; importing one of those three by name fails the build.
 */
const NODE_HTTP_NAMESPACE = 'cti-node-http';
const nodeHttpThroughRequire: Plugin = {
  name: 'node-http-through-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import'
        ? { path: 'node:http', namespace: NODE_HTTP_NAMESPACE }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: NODE_HTTP_NAMESPACE }, () => {
      const http = createRequire(import.meta.url)('node:http') as object;
      const plain = Object.entries(Object.getOwnPropertyDescriptors(http))
        .filter(([name, descriptor]) => 'value' in descriptor && /^[A-Za-z_$][\w$]*$/.test(name))
        .map(([name]) => name);
      return {
        contents: `const http = require('node:http');\nexport default http;\nexport const { ${plain.join(', ')} } = http;\n`,
        loader: 'js',
      };
    });
  },
};

/**
 * zod's error messages in its other 40-odd languages, left out: the SDK and the connectors configure none
 * (errors are English, as OpenCTI's are), yet `z.locales` made every one of them part of the bundle and of
 * every start-up (about 40 % of zod's code). `z.locales.en` stays; any other locale is undefined.
 */
const zodEnglishOnly = replacedModule(
  'zod-english-only',
  /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/,
  'export { default as en } from "./en.js";\n',
);

/**
 * axios's multipart support, left out: form-data and what it pulls in (mime-types with mime-db's table of
 * every media type, 140 KB of the bundle built into objects at every start) serve bodies the SDK never
 * sends (vendor requests are JSON or text). Asking axios to build a multipart body now throws.
 */
const withoutAxiosFormData = replacedModule(
  'without-axios-form-data',
  // axios's node platform class, its one import of form-data.
  /[\\/]axios[\\/]lib[\\/]platform[\\/]node[\\/]classes[\\/]FormData\.js$/,
  'export default class FormData {\n  constructor() {\n    throw new Error("multipart bodies are not part of this build");\n  }\n}\n',
);

export interface BundleResult {
  out: string;
  /** Bytes of every file written under `out`. */
  bytes: number;
  /** The third-party packages bundled (name@version). */
  packages: string[];
}

/** The package folder (holding package.json) a bundled input file belongs to, or null for our own code. */
function packageRootOf(input: string): string | null {
  const parts = input.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return null;
  const scoped = parts[at + 1]?.startsWith('@') ? 2 : 1;
  return parts.slice(0, at + 1 + scoped).join('/');
}

function copyLicenses(metafile: Metafile, out: string): string[] {
  const roots = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const root = packageRootOf(resolve(ROOT, input));
    if (root) roots.add(root);
  }
  const packages: string[] = [];
  for (const root of [...roots].sort()) {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      license?: unknown;
      author?: unknown;
    };
    packages.push(`${pkg.name}@${pkg.version}`);
    const target = join(out, 'licenses', pkg.name);
    mkdirSync(target, { recursive: true });
    const notices = readdirSync(root).filter((f) => /^(licen[cs]e|notice|copying)/i.test(f));
    for (const file of notices) cpSync(join(root, file), join(target, file));
    if (notices.length === 0) {
      // A few packages (agent-base 6) ship no license file: their package.json's declaration, as published.
      if (typeof pkg.license !== 'string') throw new Error(`${pkg.name}@${pkg.version} declares no license`);
      const author = typeof pkg.author === 'string' ? pkg.author : JSON.stringify(pkg.author ?? 'its authors');
      writeFileSync(
        join(target, 'LICENSE'),
        `${pkg.name}@${pkg.version}: ${pkg.license} license (as declared in its package.json; the package ships no license file), by ${author}.\n`,
      );
    }
  }
  return packages;
}

function sizeOf(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += readFileSync(join(entry.parentPath, entry.name)).length;
  }
  return bytes;
}

export async function bundleConnector(slug: string, out: string): Promise<BundleResult> {
  const dir = join(ROOT, 'connectors', slug);
  const entry = join(dir, 'dist', 'main.js');
  if (!existsSync(entry))
    throw new Error(`${relative(ROOT, entry)} is missing: compile first (tsc -b connectors/${slug})`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'dist'), { recursive: true });
  const result = await build({
    entryPoints: { main: entry },
    outdir: join(out, 'dist'),
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node22.12',
    // ES modules first: their unused exports are dropped (zod), CommonJS ones are kept whole.
    mainFields: ['module', 'main'],
    minify: true,
    // Error classes and functions keep their names: logs and error reports print them.
    keepNames: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [
      nodeHttpThroughRequire,
      withoutAxiosFetchAdapter,
      withoutAxiosFormDataProbe,
      withoutAxiosFormData,
      zodEnglishOnly,
    ],
    // CommonJS dependencies call require() for Node's own modules, which an ES module does not define.
    banner: {
      js: "import{createRequire as __ctiRequire}from'node:module';const require=__ctiRequire(import.meta.url);",
    },
  });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(
    join(out, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, license: pkg.license, type: 'module', main: 'dist/main.js' }, null, 2)}\n`,
  );
  const packages = copyLicenses(result.metafile, out);
  return { out, bytes: sizeOf(out), packages };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [slug, out] = process.argv.slice(2);
  if (!slug || !out) {
    process.stderr.write('usage: node scripts/bundle.ts <connector slug> <output folder>\n');
    process.exit(2);
  }
  const result = await bundleConnector(slug, resolve(out));
  process.stdout.write(
    `${relative(process.cwd(), result.out) || '.'}: ${(result.bytes / 2 ** 20).toFixed(2)} MB, ${result.packages.length} packages bundled\n`,
  );
}
