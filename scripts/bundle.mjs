// Bundles the CLI into dist/ (dosync.js + chunks/) so a command loads a few files instead of ~500 modules.
// Each command's work is a dynamic import() in src/cli, which esbuild splits into its own chunk,
// so `dosync --version` loads only the entry and commander.
import { build } from 'esbuild';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

// Left in node_modules: ssh2 (native add-on) and gRPC are only reached through the lazy stand-ins below; pino resolves its transport workers (pino-pretty) by file at run time, and the
// cloud SDKs and prom-client are large and already imported only when a command needs them.
const external = ['pino', 'pino-pretty', 'ssh2', '@grpc/*', 'protobufjs', '@aws-sdk/*', '@smithy/*', 'google-auth-library', '@azure/*', 'prom-client', 'nodemailer'];

// dockerode requires gRPC + protobufjs (BuildKit sessions) and docker-modem requires ssh2 (ssh:// hosts) at
// load time: ~60 modules and ~25 MB RSS that dosync never uses with a local socket. Both are single
// functions, so a stand-in that requires the real module on first call keeps them working but unloaded
// (esbuild wraps CommonJS modules so they only run when first required).
const lazyFunctionModules = [
  { importer: /[\\/]dockerode[\\/]lib[\\/]docker\.js$/, path: './session' },
  { importer: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/, path: './ssh' },
];
const lazyRequire = {
  name: 'lazy-require',
  setup(b) {
    b.onResolve({ filter: /^\.\/(session|ssh)$/ }, (args) => {
      if (args.namespace === 'lazy') return undefined;
      if (!lazyFunctionModules.some((m) => m.path === args.path && m.importer.test(args.importer))) return undefined;
      return { path: require.resolve(args.path, { paths: [args.resolveDir] }), namespace: 'lazy' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      contents: `module.exports = function () { return require(${JSON.stringify(args.path)}).apply(this, arguments); };`,
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

// Built next to dist/ and swapped in with renames: stale chunks do not pile up, and a dosync started
// from dist/ while a rebuild runs (tests, a second terminal) never finds it half written.
const fresh = mkdtempSync(join(root, '.dist-'));
try {
  await build({
    entryPoints: { dosync: join(root, 'src/cli/index.ts') },
    outdir: fresh,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    plugins: [lazyRequire],
    // CommonJS dependencies bundled into ESM call require() for Node built-ins; give them one.
    banner: { js: "import { createRequire as __dosyncCreateRequire } from 'node:module'; const require = __dosyncCreateRequire(import.meta.url);" },
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    logLevel: 'warning',
    legalComments: 'none',
  });
  const old = `${fresh}.old`;
  try { renameSync(join(root, 'dist'), old); } catch (err) { if (err.code !== 'ENOENT') throw err; }
  renameSync(fresh, join(root, 'dist'));
  rmSync(old, { recursive: true, force: true });
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
