// A shapes option that is not NAME=DxDx... with positive dims is rejected
// before anything changes; the message quotes the first bad entry.

// RUN: not parallelize-opt %s -pz-set-input-shapes="shapes=x=8xq" 2>&1 | FileCheck %s --check-prefix=LETTER
// LETTER: error: input shape 'x=8xq' is not NAME=DxDx... with positive dims

// RUN: not parallelize-opt %s -pz-set-input-shapes="shapes=x=0x64" 2>&1 | FileCheck %s --check-prefix=ZERO
// ZERO: error: input shape 'x=0x64' is not NAME=DxDx... with positive dims

// RUN: not parallelize-opt %s -pz-set-input-shapes="shapes=x=8x-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: input shape 'x=8x-1' is not NAME=DxDx... with positive dims

// RUN: not parallelize-opt %s -pz-set-input-shapes="shapes=x8x64" 2>&1 | FileCheck %s --check-prefix=NO-EQUALS
// NO-EQUALS: error: input shape 'x8x64' is not NAME=DxDx... with positive dims

// RUN: not parallelize-opt %s -pz-set-input-shapes="shapes==8x64" 2>&1 | FileCheck %s --check-prefix=NO-NAME
// NO-NAME: error: input shape '=8x64' is not NAME=DxDx... with positive dims

// RUN: not parallelize-opt %s -pz-set-input-shapes="shapes=x=" 2>&1 | FileCheck %s --check-prefix=NO-DIMS
// NO-DIMS: error: input shape 'x=' is not NAME=DxDx... with positive dims

// RUN: not parallelize-opt %s -pz-set-input-shapes="shapes=x=8xx64" 2>&1 | FileCheck %s --check-prefix=EMPTY-DIM
// EMPTY-DIM: error: input shape 'x=8xx64' is not NAME=DxDx... with positive dims

// A good entry does not hide a bad one after it.
// RUN: not parallelize-opt %s -pz-set-input-shapes="shapes=x=8x64,labels" 2>&1 | FileCheck %s --check-prefix=SECOND
// SECOND: error: input shape 'labels' is not NAME=DxDx... with positive dims

// Nothing is printed: the pass failed.
// RUN: not parallelize-opt %s -pz-set-input-shapes="shapes=x=8xq" 2>/dev/null | FileCheck %s --check-prefix=NO-OUTPUT --allow-empty
// NO-OUTPUT-NOT: func.func

func.func @inputs(%x: tensor<?x64xf32> {pz.input = "x"}, %labels: tensor<?xi64> {pz.input = "labels"}) -> tensor<?x64xf32> {
  return %x : tensor<?x64xf32>
}
