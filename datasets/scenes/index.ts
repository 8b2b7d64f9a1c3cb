// The procedural animated scenes, by name.
import { balls } from './balls.ts';
import { jelly } from './jelly.ts';
import type { SceneFactory } from './scene.ts';
import { spinner } from './spinner.ts';
import { walker } from './walker.ts';
import { windmill } from './windmill.ts';

export const SCENES: Record<string, SceneFactory> = { spinner, walker, jelly, balls, windmill };

export function sceneNames(): string[] {
  return Object.keys(SCENES);
}
