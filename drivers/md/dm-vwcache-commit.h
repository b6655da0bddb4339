/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache commit: see dm-vwcache-commit.c for the protocol.
 */
#ifndef DM_VWCACHE_COMMIT_H
#define DM_VWCACHE_COMMIT_H

struct vwc_pool;
struct work_struct;
struct bio;

int vwc_commit_alloc(struct vwc_pool *pool);
size_t vwc_commit_bytes(void);
void vwc_commit_free(struct vwc_pool *pool);
int vwc_commit(struct vwc_pool *pool);
void vwc_commit_work(struct work_struct *ws);
void vwc_wait_commit(struct vwc_pool *pool, struct bio *bio);
bool vwc_commit_idle_locked(struct vwc_pool *pool);

#endif /* DM_VWCACHE_COMMIT_H */
