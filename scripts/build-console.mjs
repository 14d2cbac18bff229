// Builds the web console's page (console/ → dist/console/) with esbuild: one minified ES module,
// the stylesheet and index.html. Run by `prepare` after tsc; takes well under a second.
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/console`;
await mkdir(out, { recursive: true });
await build({
  entryPoints: [`${root}console/src/main.tsx`],
  outfile: `${out}/app.js`,
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
await copyFile(`${root}console/index.html`, `${out}/index.html`);
await copyFile(`${root}console/app.css`, `${out}/app.css`);
