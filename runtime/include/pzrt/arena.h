/* pzrt/arena.h - the per-rank activation arena and memory accounting.
 *
 * Memory accounting: every allocation made through pzrt_mem_alloc is 64-byte
 * aligned and counted under a category. The runtime keeps, per category and
 * in total, the bytes currently allocated and the high-water mark.
 *
 * Arena: one 64-byte-aligned block per rank whose size is fixed before the
 * step (from the compiler's static memory plan). Buffers are offsets into it.
 * The generated code marks buffers live with pzrt_arena_acquire and dead with
 * pzrt_arena_release; the arena tracks the bytes in use and their peak (the
 * measured peak, to compare with the planned one) and rejects a buffer that
 * leaves the arena or overlaps another live buffer (a memory-plan bug).
 */
#ifndef PZRT_ARENA_H
#define PZRT_ARENA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pzrt_mem_category {
  PZRT_MEM_PARAMS = 0,
  PZRT_MEM_GRADS = 1,
  PZRT_MEM_OPTIMIZER = 2,
  PZRT_MEM_ARENA = 3,
  PZRT_MEM_WORKSPACE = 4,
  PZRT_MEM_DATA = 5,
  PZRT_MEM_OTHER = 6,
  PZRT_MEM_CATEGORY_COUNT = 7
} pzrt_mem_category;

/* "params", "grads", "optimizer", "arena", "workspace", "data", "other". */
const char *pzrt_mem_category_name(pzrt_mem_category cat);

/* 64-byte aligned, zero-filled. NULL (with pzrt_last_error) on failure.
 * bytes == 0 returns a valid unique pointer. */
/* `cat` is a pzrt_mem_category, taken as an int so that an out-of-range
 * value is an error (-> NULL) rather than undefined behaviour. */
void *pzrt_mem_alloc(size_t bytes, int cat);
/* Frees memory from pzrt_mem_alloc (NULL is ignored). */
void pzrt_mem_free(void *ptr);

/* Where pzrt_mem_alloc takes its memory from (a device's memory: the CUDA
 * backend's device memory). alloc returns `bytes` (a multiple of 64)
 * zero-filled and 64-byte aligned for a pzrt_mem_category, or NULL with
 * pzrt_last_error(); free releases it. The accounting is the same for every
 * allocator. */
typedef struct pzrt_mem_allocator {
  void *(*alloc)(size_t bytes, int cat, void *user);
  void (*free)(void *ptr, void *user);
  void *user;
} pzrt_mem_allocator;
/* Makes later pzrt_mem_alloc calls use `allocator` (NULL: host memory,
 * aligned_alloc) and returns the previous one. Memory is always freed by
 * the allocator that made it. The allocator must outlive its memory. */
const pzrt_mem_allocator *pzrt_mem_set_allocator(const pzrt_mem_allocator *allocator);
/* Bytes currently allocated / high-water mark, for one category. */
uint64_t pzrt_mem_current(pzrt_mem_category cat);
uint64_t pzrt_mem_peak(pzrt_mem_category cat);
/* Over all categories: the high-water mark of the total (not the sum of the
 * per-category peaks). */
uint64_t pzrt_mem_current_total(void);
uint64_t pzrt_mem_peak_total(void);
/* Sets every peak to the current value. */
void pzrt_mem_reset_peaks(void);

typedef struct pzrt_arena pzrt_arena;

/* Allocates the arena (category PZRT_MEM_ARENA). planned_peak is the
 * compiler's predicted peak of live bytes (0 if unknown). */
pzrt_arena *pzrt_arena_create(size_t bytes, size_t planned_peak);
void pzrt_arena_destroy(pzrt_arena *arena);
void *pzrt_arena_base(pzrt_arena *arena);
size_t pzrt_arena_size(const pzrt_arena *arena);
size_t pzrt_arena_planned_peak(const pzrt_arena *arena);
/* The address of [offset, offset+bytes) without liveness tracking; NULL if
 * the range leaves the arena. */
void *pzrt_arena_at(pzrt_arena *arena, size_t offset, size_t bytes);
/* Marks [offset, offset+bytes) live and returns its address; NULL with an
 * error if out of range or overlapping a live buffer. */
void *pzrt_arena_acquire(pzrt_arena *arena, size_t offset, size_t bytes);
/* Marks the live buffer starting at offset dead. -1 if none starts there. */
int pzrt_arena_release(pzrt_arena *arena, size_t offset);
/* Releases every live buffer (e.g. at the end of a step). */
void pzrt_arena_release_all(pzrt_arena *arena);
/* Bytes live now, the peak of live bytes, and the highest end offset used. */
size_t pzrt_arena_in_use(const pzrt_arena *arena);
size_t pzrt_arena_peak(const pzrt_arena *arena);
size_t pzrt_arena_high_offset(const pzrt_arena *arena);
void pzrt_arena_reset_peak(pzrt_arena *arena);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_ARENA_H */
