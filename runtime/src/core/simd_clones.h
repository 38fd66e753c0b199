// PZRT_SIMD_CLONES: compile a hot elementwise loop for AVX-512, AVX2+FMA
// and the baseline x86-64, picked once at load time (GCC/Clang
// target_clones through an ifunc), so that one portable libpzrt vectorizes
// on the machine it runs on.
//
// The clones give the same bits as the baseline: the files that use them
// are compiled with -ffp-contract=off (no multiply-add the source did not write) and every
// operation these loops use (+ - * /, sqrt, std::fma) is correctly rounded
// at any vector width. Loops that reduce keep their order: without
// reassociation the compiler does not vectorize them, so do not mark them.
#ifndef PZRT_CORE_SIMD_CLONES_H
#define PZRT_CORE_SIMD_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__) &&                    \
    !defined(PZRT_NO_SIMD_CLONES)
#define PZRT_SIMD_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define PZRT_SIMD_CLONES
#endif

#endif // PZRT_CORE_SIMD_CLONES_H
