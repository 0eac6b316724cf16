// Bundles the CLI into one CommonJS file, dist/dosync.cjs, that bin/dosync.js compiles with a V8 code
// cache (Node 20 has no compile cache for ES modules; for a script, vm.Script takes cached data). Each
// command's work is still a dynamic import() in src/cli: esbuild wraps those modules (and the packages
// only they use) in functions that run on first import, so `dosync --version` evaluates only the entry
// and commander. dist/build.json records the bundle's hash, which names its code caches.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

// Left in node_modules: ssh2 (native add-on) and gRPC are only reached through the lazy stand-ins below;
// pino-pretty is required only for a terminal; the cloud SDKs and prom-client are large and imported only
// when a command needs them.
// (scripts/externals.json: scripts/prune-runtime.mjs keeps exactly these, and what they need, in the image.)
const external = JSON.parse(readFileSync(join(root, 'scripts/externals.json'), 'utf8'));

// dockerode requires gRPC + protobufjs (BuildKit sessions) and docker-modem requires ssh2 (ssh:// hosts) at
// load time: ~60 modules and ~25 MB RSS that dosync never uses with a local socket. Both are single
// functions, so a stand-in that requires the real module on first call keeps them working but unloaded
// (esbuild wraps CommonJS modules so they only run when first required).
const lazyFunctionModules = [
  { importer: /[\\/]dockerode[\\/]lib[\\/]docker\.js$/, path: './session' },
  { importer: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/, path: './ssh' },
  // undici's HTTP/2 client (never used: registries are spoken to in HTTP/1.1) loads node:http2, ~9 ms.
  { importer: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/, path: './client-h2.js' },
];
const lazyRequire = {
  name: 'lazy-require',
  setup(b) {
    b.onResolve({ filter: /^\.\/(session|ssh|client-h2\.js)$/ }, (args) => {
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
chmodSync(fresh, 0o755); // mkdtemp makes it private; dist/ is read by whoever runs dosync
try {
  await build({
    entryPoints: { dosync: join(root, 'src/cli/index.ts') },
    outdir: fresh,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external,
    plugins: [lazyRequire],
    // The ES module sources read import.meta.url (to find package.json); in a CommonJS file that is __filename's URL.
    define: { 'import.meta.url': '__dosyncImportMetaUrl' },
    banner: { js: "const __dosyncImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    sourcemap: 'linked',
    // bin/load-bundle.js reads the bundle as latin1: code must be ASCII (esbuild's default, made explicit).
    charset: 'ascii',
    logLevel: 'warning',
    legalComments: 'none',
  });
  const bundle = readFileSync(join(fresh, 'dosync.cjs'));
  // The source revision for dosync_build_info and the image's OCI label: DOSYNC_REVISION (an image build
  // has no .git), else the checkout's commit.
  const revision = process.env.DOSYNC_REVISION || gitRevision();
  writeFileSync(join(fresh, 'build.json'), `${JSON.stringify({ hash: createHash('sha256').update(bundle).digest('hex').slice(0, 16), revision })}\n`);
  const old = `${fresh}.old`;
  try { renameSync(join(root, 'dist'), old); } catch (err) { if (err.code !== 'ENOENT') throw err; }
  renameSync(fresh, join(root, 'dist'));
  rmSync(old, { recursive: true, force: true });
} finally {
  rmSync(fresh, { recursive: true, force: true });
}

function gitRevision() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
