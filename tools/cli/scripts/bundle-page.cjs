// Bundles the `mteperm view` page script (page/main.ts and @tanstack/virtual-core) into one
// minified file, dist/view-page.js, that the view command inlines into each page.
const { buildSync } = require('esbuild');
const { join } = require('node:path');

buildSync({
  entryPoints: [join(__dirname, '..', 'page', 'main.ts')],
  outfile: join(__dirname, '..', 'dist', 'view-page.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  legalComments: 'none',
  // The bundled library's licence travels with it (MIT).
  banner: { js: '/* mteperm view page. Includes @tanstack/virtual-core 3.19.11, MIT licence, (c) Tanner Linsley */' },
  logLevel: 'warning',
});
