// Node module hook: `import source from '.../x.wgsl'` gives the file's text, as
// esbuild's text loader does for the page bundle. Registered by core.ts before the
// page core is imported from its TypeScript sources.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.wgsl')) return nextLoad(url, context);
  const text = await readFile(fileURLToPath(url), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
