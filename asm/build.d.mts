// Types of asm/build.mjs (dependency-free AssemblyScript build).
export declare const ASM_BUILD_DIR: string;
export declare function asmModules(): string[];
export declare function isStale(name: string): boolean;
export declare function buildAsm(options?: { force?: boolean; target?: 'release' | 'debug'; log?: (s: string) => void }): string[];
