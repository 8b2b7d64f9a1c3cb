// Training's numerical-fault check (host: harness/gpu/nonfinite.ts): is any of
// the first `count` floats of a buffer NaN or ±Inf? One dispatch per checked
// buffer; a few workgroups stride over it. A thread that sees one lowers
// flags[entry] to the iteration of the check with atomicMin (integer, so the
// result does not depend on order): flags keep, per entry, the first checked
// iteration that found a non-finite value (0xffffffff: none yet).

const WORKGROUP_SIZE: u32 = 256u;

struct NonFiniteParams {
  count: u32, // floats to check
  entry: u32, // index into flags
  iteration: u32, // of this check
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: NonFiniteParams;
@group(0) @binding(1) var<storage, read> values: array<u32>;            // [count] f32 bits
@group(0) @binding(2) var<storage, read_write> flags: array<atomic<u32>>; // [entries] first iteration found non-finite

@compute @workgroup_size(WORKGROUP_SIZE)
fn nonfinite(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * WORKGROUP_SIZE;
  var bad = false;
  for (var i = gid.x; i < params.count; i += stride) {
    // By bits: exponent all ones is Inf or NaN (compilers may fold float tests away).
    bad = bad || (values[i] & 0x7f800000u) == 0x7f800000u;
  }
  if (bad) {
    atomicMin(&flags[params.entry], params.iteration);
  }
}
