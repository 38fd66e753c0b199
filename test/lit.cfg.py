# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "PARALLELIZE"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "Utils", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.pz_obj_root, "test")

# Tests are strict about variable scopes (DESIGN.md).
config.environment["FILECHECK_OPTS"] = "-enable-var-scope"

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%pz_src_root", config.pz_src_root))
config.substitutions.append(("%python", config.pz_python))
# The ONNX test models that the build exports (target pz-test-models).
config.substitutions.append(("%models", config.pz_models_dir))
config.substitutions.append(
    ("%expect-exit",
     config.pz_python + " " + os.path.join(config.pz_src_root, "test", "Utils",
                                          "expect_exit.py")))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    ["parallelize", "parallelize-opt", "parallelize-translate", "pz-interpret"],
    [config.pz_tools_dir])

# nvcc (the CUDA toolkit): CUDA backend tests compile its output.
if os.path.exists("/usr/local/cuda/bin/nvcc"):
    config.available_features.add("nvcc")
    llvm_config.with_environment("PATH", "/usr/local/cuda/bin", append_path=True)
# A GPU with its driver: CUDA programs run (tests of a machine without one
# check that they fail cleanly instead).
if os.path.exists("/dev/nvidiactl"):
    config.available_features.add("cuda-device")
config.substitutions.append(
    ("%cuda-host-check",
     config.pz_python + " " + os.path.join(config.pz_src_root, "test", "Utils",
                                          "cuda_host_check.py")))
# The pzrt-level module of a --dump-ir run, planned for the CUDA target.
config.substitutions.append(
    ("%cuda-ir",
     config.pz_python + " " + os.path.join(config.pz_src_root, "test", "Utils", "cuda_ir.py")
     + " --opt " + os.path.join(config.pz_tools_dir, "parallelize-opt")))
# The host emulator of CUDA kernels (pzrt/cuda_emulate.h): the CUDA
# backend's output must compile with g++ -DPZ_CUDA_EMULATE too.
if os.path.exists(os.path.join(config.pz_src_root, "runtime", "include", "pzrt",
                               "cuda_emulate.h")):
    config.available_features.add("cuda-emulate")
# The host emulator's CUDA runtime, built (pzrt_cuda_emu): the CUDA
# backend's launchers run whole on the emulated device
# (cuda_host_check.py --emulate %cuda-emu-link).
_emu = os.path.join(config.pz_obj_root, "runtime", "libpzrt_cuda_emu.a")
if os.path.exists(_emu):
    config.available_features.add("cuda-emulator")
    _rt = os.path.join(config.pz_obj_root, "runtime")
    _libs = [os.path.join(_rt, "libpzrt_%s.a" % p) for p in ("cuda_emu", "cpu", "mpi", "core")]
    config.substitutions.append(
        ("%cuda-emu-link", "'" + " ".join(["-I", os.path.join(config.pz_src_root, "runtime",
                                                              "include")]
                                          + [l for l in _libs if os.path.exists(l)]
                                          + ["-lopenblas", "-ldl", "-lpthread"]) + "'"))
