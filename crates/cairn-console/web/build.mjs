// Builds the console into dist/: one script bundle, one stylesheet, the page and its icon. The output is
// deterministic (no hashes or timestamps), committed, and embedded in the cairn binary by crates/cairn-console.
// `node build.mjs --check` builds into a temporary directory and fails if dist/ differs from the sources.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const check = process.argv.includes('--check');
const out = check ? mkdtempSync(join(tmpdir(), 'cairn-console-')) : 'dist';
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { app: 'src/main.tsx' },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'eof',
  charset: 'utf8',
  outdir: out,
  logLevel: 'warning',
});
await build({
  entryPoints: { app: 'src/styles.css' },
  bundle: true,
  minify: true,
  outdir: out,
  logLevel: 'warning',
});
for (const f of ['index.html', 'icon.svg']) copyFileSync(join('src/static', f), join(out, f));

if (check) {
  const stale = readdirSync(out).filter((f) => !readFileSync(join(out, f)).equals(readFileSync(join('dist', f))));
  rmSync(out, { recursive: true, force: true });
  if (stale.length) {
    console.error(`dist/ is stale (${stale.join(', ')}): run \`npm run build\` in crates/cairn-console/web and commit dist/`);
    process.exit(1);
  }
}
