# PZ_SANITIZE: build everything with sanitizers, e.g.
#   cmake -B build-sanitize -DPZ_SANITIZE=address,undefined ...   (make test-sanitize)
#
# Everything means the compiler libraries and tools, the runtime, the unit
# tests, and the `train`/`run` programs that `parallelize compile` builds
# against libpzrt.a: RuntimeConfig.h hands them the same flags and the
# options object below (lib/Driver/Toolchain.cpp). Undefined behaviour is not
# recoverable, so the first report fails the test that hit it.
#
# Every executable links pz_sanitizer_options (cmake/sanitizers/options.cpp),
# which compiles in the default options and the path of the LeakSanitizer
# suppressions (cmake/sanitizers/lsan.supp): the tests need no environment,
# however they start a program (ctest, lit, Python scripts, mpirun).
# ASAN_OPTIONS/LSAN_OPTIONS/UBSAN_OPTIONS still override them.

set(PZ_SANITIZE "" CACHE STRING
    "Comma-separated sanitizers to build everything with (e.g. address,undefined); empty: none")

# Flags for compiling and linking generated programs (RuntimeConfig.h); empty
# without sanitizers.
set(PZ_SANITIZE_PROGRAM_FLAGS "")

if(NOT PZ_SANITIZE)
  return()
endif()

# -fno-sanitize=vptr: libLLVM and libMLIR are built without RTTI, so the
# objects they create (llvm::cl::Option, ...) carry no type information the
# vptr check could read; it reports every member access to them as an
# "invalid vptr" (first sanitizer run over the whole suite: 77 reports, all
# in CommandLine.cpp's walk over the registered options). LLVM's own
# sanitizer builds drop the check when RTTI is off for the same reason.
set(PZ_SANITIZE_FLAGS
  -fsanitize=${PZ_SANITIZE}
  -fno-sanitize=vptr
  -fno-sanitize-recover=all
  -fno-omit-frame-pointer
  # Line tables for symbolized reports, at a fraction of -g's build time.
  -g1)
message(STATUS "PZ_SANITIZE: ${PZ_SANITIZE} (${PZ_SANITIZE_FLAGS})")
add_compile_options(${PZ_SANITIZE_FLAGS})
add_link_options(-fsanitize=${PZ_SANITIZE})
list(JOIN PZ_SANITIZE_FLAGS " " PZ_SANITIZE_PROGRAM_FLAGS)

add_library(pz_sanitizer_options OBJECT
  ${CMAKE_CURRENT_LIST_DIR}/sanitizers/options.cpp)
target_compile_definitions(pz_sanitizer_options PRIVATE
  PZ_LSAN_SUPPRESSIONS="${CMAKE_CURRENT_LIST_DIR}/sanitizers/lsan.supp")
set_target_properties(pz_sanitizer_options PROPERTIES POSITION_INDEPENDENT_CODE ON)

# The nested tree of the libFuzzer targets (fuzz/CMakeLists.txt): coverage
# instrumentation everywhere, and the fuzzing build mode, in which the runtime
# reads files into exact-size heap buffers instead of mapping them, so that
# AddressSanitizer sees every read past the end of an input.
option(PZ_FUZZ "Internal: this tree builds only the libFuzzer targets (needs clang)" OFF)
if(PZ_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_compile_definitions(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
  function(pz_sanitize_executables dir)
  endfunction()
  return()
endif()

# Links the options object into every executable target defined in `dir` and
# below, and tunes the runtime. Called once, after every add_subdirectory.
#
# The runtime is a C API: a C caller may pass any int as an enum argument
# (pzrt_dtype, pzrt_mem_category, ...), and the runtime validates it (its
# tests pass 42 and 99 on purpose). In C++ the load of such a value is
# undefined, so UBSan's enum check would report the validation itself; it is
# off for the runtime only.
function(pz_sanitize_executables dir)
  if(dir STREQUAL PROJECT_SOURCE_DIR AND TARGET pzrt AND PZ_SANITIZE MATCHES "undefined")
    target_compile_options(pzrt PRIVATE -fno-sanitize=enum)
  endif()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_sources(${t} PRIVATE $<TARGET_OBJECTS:pz_sanitizer_options>)
      add_dependencies(${t} pz_sanitizer_options)
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    pz_sanitize_executables(${sub})
  endforeach()
endfunction()
