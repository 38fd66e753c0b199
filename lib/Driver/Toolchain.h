//===- Toolchain.h - building generated programs ----------------*- C++ -*-===//

#ifndef PZ_LIB_DRIVER_TOOLCHAIN_H
#define PZ_LIB_DRIVER_TOOLCHAIN_H

#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace mlir::pz::driver {

/// What a generated program is built for.
struct ProgramBuild {
  enum class Kind {
    CPU,         ///< train.cpp/run.cpp by the C++ compiler, with pzrt
    CUDA,        ///< program.cu by nvcc for gpuArch, with pzrt_cuda and pzrt
    CUDAEmulated ///< program.cu by the C++ compiler (-DPZ_CUDA_EMULATE), with
                 ///< the host emulator's pzrt_cuda_emu: for tests without a GPU
  };
  Kind kind = Kind::CPU;
  std::string gpuArch = "sm_90";
};

/// Whether this build of the compiler can build `kind` (the CUDA toolkit
/// was found; the emulator's library was built); else false with the
/// reason in `error`.
bool canBuild(ProgramBuild::Kind kind, std::string &error);

/// Compiles `srcPath` and links it with the runtime into `exePath`: with the
/// system C++ compiler ($PZ_CXX, else $CXX, else c++), or for CUDA with
/// nvcc ($PZ_NVCC, else the toolkit's). On failure returns false with the
/// compiler's output in `error`.
bool buildProgram(llvm::StringRef srcPath, llvm::StringRef exePath, const ProgramBuild &build,
                  std::string &error);

/// Empty when the runtime's CUDA kernels (CMAKE_CUDA_ARCHITECTURES) run on
/// `arch` (sm_<digits>[a]); else the --gpu-arch error: a program built for
/// another architecture would find no kernel image for them.
std::string checkRuntimeArch(llvm::StringRef arch, llvm::StringRef digits);

/// Copies the shared libraries a CUDA program loads at run time (cuBLASLt,
/// cuBLAS, NCCL) into `dir`/lib under their sonames, so that the program
/// finds them through its rpath ($ORIGIN/lib) and needs only the driver.
/// `names`: the file names placed there.
bool bundleCUDALibraries(llvm::StringRef dir, std::string &error,
                         std::vector<std::string> *names = nullptr);

} // namespace mlir::pz::driver

#endif // PZ_LIB_DRIVER_TOOLCHAIN_H
