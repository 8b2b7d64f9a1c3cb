// Types of the dependency-free bootstrap (ensure-setup.mjs).
export declare const DEFAULT_CHROME: string;
export declare function findChrome(candidates?: string[]): string | null;
export declare function ensureChrome(options?: { candidates?: string[]; isRoot?: boolean }): boolean;
export declare function ensureNodeModules(): boolean;
export declare function hasVulkanLoader(): boolean;
export declare function ensureVulkanLoader(options?: { isRoot?: boolean }): boolean;
