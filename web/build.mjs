// Bundles the GraphiQL page into dist/ with fixed names (no hashes), so the server can
// serve dist/index.html at GET /graphql and dist/assets/ at /graphiql/assets/.
// Everything the page needs is in the bundle: it loads nothing from the internet.
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';

const ASSET_PREFIX = '/graphiql/assets/';

await rm('dist', { recursive: true, force: true });
await mkdir('dist/assets', { recursive: true });

const result = await build({
  entryPoints: { app: 'src/main.jsx' },
  outdir: 'dist/assets',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  jsx: 'automatic',
  // Fonts and images referenced by the CSS are inlined, never fetched from elsewhere.
  loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.svg': 'dataurl', '.png': 'dataurl' },
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});

const template = await readFile('src/index.html', 'utf8');
await writeFile('dist/index.html', template.replaceAll('%ASSETS%', ASSET_PREFIX));

for (const [file, info] of Object.entries(result.metafile.outputs)) {
  process.stderr.write(`  ${file}  ${(info.bytes / 1024).toFixed(0)} KiB\n`);
}
