// RUN: not parallelize-opt %s -pz-infer-shapes 2>&1 | FileCheck %s

// pz-infer-shapes sweeps the module until nothing changes; a call chain
// needs one sweep per level when callers come before their callees. It
// gives up after 64 sweeps. Here @f0 calls @f1 ... calls @f65, defined in
// that order, and only @f65 knows its result shape. (A short chain in
// that order settles: see @outer in infer-shapes.mlir.)

// CHECK: error: shape refinement did not settle

func.func @f0(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f1(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f1(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f2(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f2(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f3(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f3(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f4(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f4(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f5(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f5(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f6(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f6(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f7(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f7(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f8(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f8(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f9(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f9(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f10(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f10(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f11(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f11(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f12(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f12(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f13(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f13(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f14(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f14(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f15(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f15(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f16(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f16(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f17(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f17(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f18(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f18(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f19(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f19(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f20(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f20(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f21(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f21(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f22(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f22(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f23(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f23(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f24(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f24(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f25(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f25(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f26(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f26(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f27(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f27(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f28(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f28(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f29(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f29(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f30(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f30(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f31(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f31(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f32(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f32(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f33(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f33(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f34(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f34(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f35(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f35(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f36(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f36(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f37(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f37(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f38(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f38(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f39(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f39(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f40(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f40(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f41(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f41(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f42(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f42(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f43(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f43(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f44(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f44(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f45(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f45(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f46(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f46(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f47(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f47(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f48(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f48(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f49(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f49(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f50(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f50(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f51(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f51(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f52(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f52(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f53(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f53(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f54(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f54(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f55(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f55(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f56(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f56(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f57(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f57(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f58(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f58(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f59(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f59(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f60(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f60(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f61(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f61(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f62(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f62(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f63(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f63(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f64(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f64(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @f65(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
func.func @f65(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = pz.reshape %x [-1] : tensor<2xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
