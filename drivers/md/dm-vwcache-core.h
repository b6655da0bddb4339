/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache portable core: the base every core file includes.
 *
 * The cache core (argument parsing, on-disk encode/decode, and later the
 * block index, allocation, policy and token buckets) uses only what this
 * header provides, so it compiles both in the kernel and in userspace,
 * where tests/unit/ runs it under ASan and UBSan and fuzzes it.  No bios,
 * no workqueues, no locks: callers own concurrency.
 */
#ifndef DM_VWCACHE_CORE_H
#define DM_VWCACHE_CORE_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/crc32c.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/vmalloc.h>
#include <linux/atomic.h>
#include <asm/byteorder.h>

/*
 * The block table's allocations, gigabytes in all for a large pool: one
 * that does not fit fails (the pool is refused) rather than have the OOM
 * killer make room for it.  Zeroed arrays, vmalloc fallback:
 */
#define vwc_kvcalloc(n, size)	kvcalloc(n, size, GFP_KERNEL | __GFP_RETRY_MAYFAIL)
#define vwc_kvfree(p)		kvfree(p)
/* Not zeroed, whole pages (a chunk of blocks), no warning on failure: */
#define vwc_vmalloc(size)	__vmalloc(size, GFP_KERNEL | __GFP_RETRY_MAYFAIL | \
					  __GFP_NOWARN)
#define vwc_vfree(p)		vfree(p)
#define vwc_cond_resched()	cond_resched()

/* A u32 compared and exchanged atomically, a full barrier: the old value. */
#define vwc_cmpxchg32(p, old, new)	cmpxchg(p, old, new)

#else /* userspace */

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <endian.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define cpu_to_le16(x) ((__le16)htole16(x))
#define cpu_to_le32(x) ((__le32)htole32(x))
#define cpu_to_le64(x) ((__le64)htole64(x))
#define le16_to_cpu(x) le16toh((uint16_t)(x))
#define le32_to_cpu(x) le32toh((uint32_t)(x))
#define le64_to_cpu(x) le64toh((uint64_t)(x))

#define U16_MAX ((u16)~0U)
#define U32_MAX ((u32)~0U)
#define U64_MAX ((u64)~0ULL)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define round_up(x, y) ((((x) - 1) | ((__typeof__(x))((y) - 1))) + 1)
#define round_down(x, y) ((x) & ~((__typeof__(x))((y) - 1)))

static inline bool is_power_of_2(unsigned long n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

#ifndef PAGE_SIZE
#define PAGE_SIZE 4096UL
#endif
#define PAGE_ALIGN(x) round_up((size_t)(x), PAGE_SIZE)

#ifdef VWC_ALLOC_FAIL
/*
 * tests/unit: when non-zero, the allocation this many allocations from
 * now fails (1: the next one); defined in unit.h.
 */
extern unsigned long vwc_alloc_fail_in;

static inline bool vwc_alloc_fails(void)
{
	return vwc_alloc_fail_in && !--vwc_alloc_fail_in;
}
#else
static inline bool vwc_alloc_fails(void)
{
	return false;
}
#endif

static inline void *vwc_kvcalloc(size_t n, size_t size)
{
	return vwc_alloc_fails() ? NULL : calloc(n, size);
}

static inline void vwc_kvfree(void *p)
{
	free(p);
}

static inline void *vwc_vmalloc(size_t size)
{
	return vwc_alloc_fails() ? NULL : malloc(size ? size : 1);
}

static inline void vwc_vfree(void *p)
{
	free(p);
}

static inline void vwc_cond_resched(void)
{
}

/* The kernel's access marking and atomics, as the compiler has them. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* A store after everything before it (vwc_block_revive()). */
#define smp_store_release(p, v)	__atomic_store_n(p, (v), __ATOMIC_RELEASE)

static inline u32 vwc_cmpxchg32(u32 *p, u32 old, u32 new)
{
	__atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return old;
}

/* Provided by tests/unit/crc32c.c (also linked into dmcache-ctl). */
u32 crc32c(u32 crc, const void *address, unsigned int length);

#endif /* __KERNEL__ */

#include <linux/dm-vwcache.h>

#endif /* DM_VWCACHE_CORE_H */
