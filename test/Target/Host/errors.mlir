// RUN: not parallelize-translate --pzrt-to-cpp %s --split-input-file 2>&1 | FileCheck %s

// What the runtime cannot do is an error at the op, not a silent wrong call.
module attributes {pzrt.target = "cpu"} {
  func.func @f(%g: memref<4xf32>) attributes {pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 0, peak_bytes = 0, buffers = 0>} {
    %arena = pzrt.arena : memref<0xi8>
    // CHECK: error: emitter: the runtime has no 'avg' reduction yet (sum and max)
    pzrt.all_reduce <avg> %g, %g on ["tp"] reason <"x", "y"> : memref<4xf32>, memref<4xf32>
    return
  }
}

// -----

// CHECK: error: emitter: 'g' has no #pzrt.memory_plan; run pzrt-plan-memory
module attributes {pzrt.target = "cpu"} {
  func.func @g(%x: memref<4xf32>, %y: memref<4xf32>) {
    memref.copy %x, %y : memref<4xf32> to memref<4xf32>
    return
  }
}

// -----

// CHECK: error: emitter: the module has no pzrt.target; run convert-pz-to-pzrt
module {
}
