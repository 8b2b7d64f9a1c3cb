// Types for the parts of gltf-validator (no bundled types) the export tests use.
declare module 'gltf-validator' {
  export interface ValidationReport {
    issues: { numErrors: number; numWarnings: number; numInfos: number; messages: { code: string; message: string; severity: number; pointer?: string }[] };
    info?: Record<string, unknown>;
  }
  export function validateBytes(data: Uint8Array, options?: { uri?: string; maxIssues?: number; externalResourceFunction?: (uri: string) => Promise<Uint8Array> }): Promise<ValidationReport>;
}
