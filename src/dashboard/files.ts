/**
 * The dashboard's static files and where they live on disk. The local read server serves them from disk
 * (edit and reload); the Lambda read API serves the copy embedded in `./assets.ts` (regenerate it with
 * `npx tsx src/dashboard/generate-assets.ts`; a test fails while the two differ).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DashboardAsset {
  contentType: string;
  body: string;
}

/** Asset name (as in the URL `api/assets/<name>`; `index.html` is served at `/`) -> file. */
export const DASHBOARD_FILES: ReadonlyArray<{ name: string; contentType: string; file: () => string }> = [
  { name: 'index.html', contentType: 'text/html; charset=utf-8', file: () => join(here(), 'index.html') },
  { name: 'app.js', contentType: 'text/javascript; charset=utf-8', file: () => join(here(), 'app.js') },
  { name: 'levels.js', contentType: 'text/javascript; charset=utf-8', file: () => join(here(), 'levels.js') },
  { name: 'auth.js', contentType: 'text/javascript; charset=utf-8', file: () => join(here(), 'auth.js') },
  {
    name: 'oauth4webapi.js',
    contentType: 'text/javascript; charset=utf-8',
    file: () => join(dirname(createRequire(import.meta.url).resolve('oauth4webapi')), 'index.js'),
  },
  { name: 'style.css', contentType: 'text/css; charset=utf-8', file: () => join(here(), 'style.css') },
  { name: 'favicon.svg', contentType: 'image/svg+xml', file: () => join(here(), 'favicon.svg') },
  {
    name: 'uPlot.iife.min.js',
    contentType: 'text/javascript; charset=utf-8',
    file: () => join(uplotDist(), 'uPlot.iife.min.js'),
  },
  { name: 'uPlot.min.css', contentType: 'text/css; charset=utf-8', file: () => join(uplotDist(), 'uPlot.min.css') },
];

function here(): string {
  return dirname(fileURLToPath(import.meta.url));
}

function uplotDist(): string {
  return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
}

/** Reads every dashboard file from disk, now. */
export function readDashboardAssets(): Record<string, DashboardAsset> {
  const assets: Record<string, DashboardAsset> = {};
  for (const f of DASHBOARD_FILES)
    assets[f.name] = { contentType: f.contentType, body: readFileSync(f.file(), 'utf8') };
  return assets;
}
