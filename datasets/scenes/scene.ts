// What a procedural animated scene is: a name, the kind of motion it exercises,
// and, for any time t in [0, 1], a triangle mesh (inside the unit sphere) and its
// texture. Deterministic from the seed. Rendered for ground truth by the mesh
// renderer (harness/gt/), which shares no code with the splatting path.
import type { MeshData, TextureData } from '../../harness/gt/mesh.ts';

export type MotionKind = 'rigid' | 'articulated' | 'non-rigid' | 'multi-object' | 'thin-parts';

export interface SceneFrame {
  mesh: MeshData;
  /** One texture for all frames of a scene (albedo travels with the surface). */
  texture: TextureData;
}

export interface Scene {
  name: string;
  motion: MotionKind;
  description: string;
  /** The scene at time t ∈ [0, 1]; same seed and t give the same frame. */
  frame(t: number): SceneFrame;
}

export type SceneFactory = (seed: number) => Scene;
