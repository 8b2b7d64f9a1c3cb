// WGSL files are bundled as plain strings (esbuild's text loader).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
