// What `dg4d bench` runs per preset (harness/runner/suite.ts): every table of the
// report gets measured rows, every method runs somewhere in small and paper, and
// the plan follows --scenes. Pure planning; the suite itself runs in cli.test.ts.
import test from 'ava';
import { sceneNames } from '../datasets/scenes/index.ts';
import { METHODS } from '../harness/pipeline/methods.ts';
import { SUITE_MESH_CONFIG, SUITE_RESOLUTION, suitePlan } from '../harness/runner/suite.ts';

test('tiny: the CI smoke run, walker video-to-4d with dg4d-fast, static and its meshes', (t) => {
  t.deepEqual(suitePlan('tiny'), [{ task: 'video-to-4d', scene: 'walker', methods: ['dg4d-fast', 'static'], mesh: ['dg4d-fast'] }]);
  t.is(SUITE_RESOLUTION.tiny, 64);
});

test('small: every scene in video-to-4d, each task once, every method somewhere, dg4d meshes of every 8th frame', (t) => {
  const plan = suitePlan('small');
  const v2d = plan.filter((e) => e.task === 'video-to-4d');
  t.deepEqual(v2d.map((e) => e.scene).sort(), [...sceneNames()].sort());
  for (const e of v2d) {
    t.true(e.methods.includes('dg4d') && e.methods.includes('static'), e.scene);
    t.deepEqual(e.mesh, ['dg4d']);
  }
  t.deepEqual(v2d.find((e) => e.scene === 'walker')!.methods, ['dg4d', 'dg4d-fast', 'static']);
  t.deepEqual(plan.filter((e) => e.task === 'image-to-4d').map((e) => [e.scene, e.methods]), [['walker', ['dg4d', 'static']]]);
  t.deepEqual(plan.filter((e) => e.task === 'dnerf').map((e) => [e.scene, e.methods]), [['balls', ['deformable-3dgs', 'static']]]);
  t.deepEqual([...new Set(plan.flatMap((e) => e.methods))].sort(), [...METHODS].sort());
  t.is(SUITE_MESH_CONFIG.small.frameStride, 8);
  t.is(SUITE_RESOLUTION.small, 128);
});

test('paper: every method on every scene and task, meshes of dg4d and dg4d-fast', (t) => {
  const plan = suitePlan('paper');
  t.is(plan.length, 3 * sceneNames().length);
  for (const e of plan.filter((x) => x.task !== 'dnerf')) t.deepEqual(e.methods, [...METHODS]);
  for (const e of plan.filter((x) => x.task === 'video-to-4d')) t.deepEqual(e.mesh, ['dg4d', 'dg4d-fast']);
});

test('--scenes: the plan keeps to the scenes given, moving the all-methods and D-NeRF entries onto them', (t) => {
  const plan = suitePlan('small', ['jelly', 'spinner']);
  t.deepEqual([...new Set(plan.map((e) => e.scene))].sort(), ['jelly', 'spinner']);
  t.deepEqual(plan.find((e) => e.task === 'video-to-4d' && e.scene === 'jelly')!.methods, ['dg4d', 'dg4d-fast', 'static']);
  t.deepEqual(plan.filter((e) => e.task === 'dnerf').map((e) => e.scene), ['jelly']);
});
