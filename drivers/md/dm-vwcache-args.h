/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache argument parsing: the settings of a pool and of a VM device,
 * their keys, ranges and defaults, parsed from table lines, messages and
 * sysfs writes alike, so every entry point accepts and refuses the same
 * values with the same message.
 *
 * Rules: parsing never changes the settings it is given unless the whole
 * input is valid (callers parse into a copy and assign on success); every
 * refusal comes with a static message fit for ti->error.
 */
#ifndef DM_VWCACHE_ARGS_H
#define DM_VWCACHE_ARGS_H

#include "dm-vwcache-core.h"

enum vwc_mode {
	VWC_MODE_WRITEBACK,
	VWC_MODE_WRITETHROUGH,
	VWC_MODE_PASSTHROUGH,
};

struct vwc_pool_settings {
	u64 high_watermark;	/* % of blocks dirty: start writeback */
	u64 low_watermark;	/* % of blocks dirty: stop writeback */
	u64 max_age;		/* ms; 0 = dirty data may stay forever */
	u64 commit_interval;	/* ms between periodic metadata commits */
	u64 writeback_iops;	/* 0 = unlimited */
	u64 io_capacity_iops;	/* 0 = unlimited */
	u64 io_capacity_bw;	/* bytes/s; 0 = unlimited */
	u64 sequential_cutoff;	/* bytes; 0 = off */
	u64 writeback_depth;	/* runs per origin; 0 = its queue's */
};

struct vwc_vm_settings {
	u64 mode;		/* enum vwc_mode */
	u64 iops_limit;		/* 0 = unlimited */
	u64 bw_limit;		/* bytes/s; 0 = unlimited */
	u64 cache_quota;	/* blocks; 0 = no quota */
	u64 weight;		/* 1..1000 */
};

/* writeback_depth's most: the pool's own bound on runs in flight. */
#define VWC_WB_DEPTH_MAX	4096

/* One settable key: where it lives in its settings struct and its range. */
struct vwc_key {
	const char *name;
	size_t offset;
	u64 min;
	u64 max;
	u64 def;
	bool is_mode;		/* value is a mode name, not a number */
	bool optional;		/* in a table line only when not def */
	const char *error;	/* message for a value out of range */
};

extern const struct vwc_key vwc_pool_keys[];
extern const unsigned int vwc_nr_pool_keys;
extern const struct vwc_key vwc_vm_keys[];
extern const unsigned int vwc_nr_vm_keys;

int vwc_parse_u64(const char *s, u64 *out);
int vwc_parse_block_size(const char *s, u32 *out);
bool vwc_vm_id_valid(const char *s);
const char *vwc_mode_name(u64 mode);

const struct vwc_key *vwc_find_key(const struct vwc_key *keys,
				   unsigned int nr, const char *name);
u64 vwc_key_get(const struct vwc_key *key, const void *settings);
bool vwc_key_emitted(const struct vwc_key *key, const void *settings);
int vwc_key_set(const struct vwc_key *key, void *settings,
		const char *value, const char **error);

void vwc_pool_defaults(struct vwc_pool_settings *s);
void vwc_vm_defaults(struct vwc_vm_settings *s);
int vwc_pool_check(const struct vwc_pool_settings *s, const char **error);
int vwc_vm_check(const struct vwc_vm_settings *s, const char **error);
bool vwc_vm_settings_valid(const struct vwc_vm_settings *s);

int vwc_parse_features(const struct vwc_key *keys, unsigned int nr_keys,
		       void *settings, unsigned int argc, char **argv,
		       const char **error);
int vwc_parse_feature_count(const char *s, unsigned int argc_left,
			    unsigned int *count, const char **error);

int vwc_pool_set(struct vwc_pool_settings *s, const char *key,
		 const char *value, const char **error);
int vwc_vm_set(struct vwc_vm_settings *s, const char *key,
	       const char *value, const char **error);

#endif /* DM_VWCACHE_ARGS_H */
