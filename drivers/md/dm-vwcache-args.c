// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache argument parsing: see dm-vwcache-args.h for the rules.
 */
#include "dm-vwcache-args.h"

#define POOL_KEY(field, lo, hi, dflt, msg) { \
	.name = #field, \
	.offset = offsetof(struct vwc_pool_settings, field), \
	.min = (lo), .max = (hi), .def = (dflt), .error = (msg) }

#define VM_KEY(field, lo, hi, dflt, msg) { \
	.name = #field, \
	.offset = offsetof(struct vwc_vm_settings, field), \
	.min = (lo), .max = (hi), .def = (dflt), .error = (msg) }

#define VWC_MAX_RATE	(1ULL << 40)	/* bytes/s or IO/s: 1 Ti */
#define VWC_MAX_MS	86400000ULL	/* one day */

const struct vwc_key vwc_pool_keys[] = {
	POOL_KEY(high_watermark, 1, 100, 50,
		 "high_watermark must be an integer from 1 to 100"),
	POOL_KEY(low_watermark, 0, 99, 25,
		 "low_watermark must be an integer from 0 to 99"),
	POOL_KEY(max_age, 0, VWC_MAX_MS, 60000,
		 "max_age must be 0 (never) or milliseconds up to 86400000"),
	POOL_KEY(commit_interval, 1, 60000, 1000,
		 "commit_interval must be milliseconds from 1 to 60000"),
	POOL_KEY(writeback_iops, 0, VWC_MAX_RATE, 0,
		 "writeback_iops must be 0 (unlimited) or up to 2^40"),
	POOL_KEY(io_capacity_iops, 0, VWC_MAX_RATE, 0,
		 "io_capacity_iops must be 0 (unlimited) or up to 2^40"),
	POOL_KEY(io_capacity_bw, 0, VWC_MAX_RATE, 0,
		 "io_capacity_bw must be 0 (unlimited) or bytes/s up to 2^40"),
	/*
	 * Keys added after the table line's first form: re-emitted only
	 * when set, so a table line keeps its form unless they are used.
	 */
	{
		.name = "sequential_cutoff",
		.offset = offsetof(struct vwc_pool_settings,
				   sequential_cutoff),
		.min = 0, .max = VWC_MAX_RATE, .def = 0, .optional = true,
		.error = "sequential_cutoff must be 0 (off) or bytes up to 2^40",
	},
	{
		.name = "writeback_depth",
		.offset = offsetof(struct vwc_pool_settings, writeback_depth),
		.min = 0, .max = VWC_WB_DEPTH_MAX, .def = 0, .optional = true,
		.error = "writeback_depth must be 0 (the origin's queue depth) or runs from 1 to 4096",
	},
};
const unsigned int vwc_nr_pool_keys = ARRAY_SIZE(vwc_pool_keys);

const struct vwc_key vwc_vm_keys[] = {
	{
		.name = "mode",
		.offset = offsetof(struct vwc_vm_settings, mode),
		.min = VWC_MODE_WRITEBACK, .max = VWC_MODE_PASSTHROUGH,
		.def = VWC_MODE_WRITEBACK, .is_mode = true,
		.error = "mode must be writeback, writethrough or passthrough",
	},
	VM_KEY(iops_limit, 0, VWC_MAX_RATE, 0,
	       "iops_limit must be 0 (unlimited) or up to 2^40"),
	VM_KEY(bw_limit, 0, VWC_MAX_RATE, 0,
	       "bw_limit must be 0 (unlimited) or bytes/s up to 2^40"),
	VM_KEY(cache_quota, 0, (1ULL << VWC_ENTRY_OBLOCK_BITS), 0,
	       "cache_quota must be 0 (no quota) or a number of blocks"),
	VM_KEY(weight, 1, 1000, 100,
	       "weight must be an integer from 1 to 1000"),
};
const unsigned int vwc_nr_vm_keys = ARRAY_SIZE(vwc_vm_keys);

static const char * const vwc_mode_names[] = {
	[VWC_MODE_WRITEBACK] = "writeback",
	[VWC_MODE_WRITETHROUGH] = "writethrough",
	[VWC_MODE_PASSTHROUGH] = "passthrough",
};

const char *vwc_mode_name(u64 mode)
{
	if (mode >= ARRAY_SIZE(vwc_mode_names))
		return "unknown";
	return vwc_mode_names[mode];
}

static int vwc_parse_mode(const char *s, u64 *out)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vwc_mode_names); i++) {
		if (!strcmp(s, vwc_mode_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * A plain decimal number: digits only (no sign, no spaces, no hex), at
 * least one, and no overflow of 64 bits.
 */
int vwc_parse_u64(const char *s, u64 *out)
{
	u64 v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned int d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = *s - '0';
		if (v > (U64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int vwc_parse_block_size(const char *s, u32 *out)
{
	u64 v;

	if (vwc_parse_u64(s, &v))
		return -EINVAL;
	if (v < VWC_BLOCK_SIZE_MIN || v > VWC_BLOCK_SIZE_MAX ||
	    !is_power_of_2((unsigned long)v))
		return -EINVAL;
	*out = (u32)v;
	return 0;
}

static bool vwc_vm_id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	       c == '-';
}

bool vwc_vm_id_valid(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++) {
		if (n >= VWC_VM_ID_MAX || !vwc_vm_id_char_ok(s[n]))
			return false;
	}
	return n > 0;
}

const struct vwc_key *vwc_find_key(const struct vwc_key *keys,
				   unsigned int nr, const char *name)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static u64 *vwc_key_field(const struct vwc_key *key, void *settings)
{
	return (u64 *)((char *)settings + key->offset);
}

u64 vwc_key_get(const struct vwc_key *key, const void *settings)
{
	return *vwc_key_field(key, (void *)settings);
}

/* Does a table line re-emit @key?  All but an optional one at default. */
bool vwc_key_emitted(const struct vwc_key *key, const void *settings)
{
	return !key->optional || vwc_key_get(key, settings) != key->def;
}

int vwc_key_set(const struct vwc_key *key, void *settings,
		const char *value, const char **error)
{
	u64 v;
	int r;

	if (key->is_mode)
		r = vwc_parse_mode(value, &v);
	else
		r = vwc_parse_u64(value, &v);
	if (r || v < key->min || v > key->max) {
		*error = key->error;
		return -EINVAL;
	}
	*vwc_key_field(key, settings) = v;
	return 0;
}

static void vwc_set_defaults(const struct vwc_key *keys, unsigned int nr,
			     void *settings)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		*vwc_key_field(&keys[i], settings) = keys[i].def;
}

void vwc_pool_defaults(struct vwc_pool_settings *s)
{
	vwc_set_defaults(vwc_pool_keys, vwc_nr_pool_keys, s);
}

void vwc_vm_defaults(struct vwc_vm_settings *s)
{
	vwc_set_defaults(vwc_vm_keys, vwc_nr_vm_keys, s);
}

/* Rules that tie keys together; single-key ranges are in the tables. */
int vwc_pool_check(const struct vwc_pool_settings *s, const char **error)
{
	if (s->low_watermark >= s->high_watermark) {
		*error = "low_watermark must be below high_watermark";
		return -EINVAL;
	}
	return 0;
}

int vwc_vm_check(const struct vwc_vm_settings *s, const char **error)
{
	return 0;
}

/* Every key of @s in its range and the keys together right (decoded data). */
bool vwc_vm_settings_valid(const struct vwc_vm_settings *s)
{
	const char *error;
	unsigned int i;

	for (i = 0; i < vwc_nr_vm_keys; i++) {
		u64 v = vwc_key_get(&vwc_vm_keys[i], s);

		if (v < vwc_vm_keys[i].min || v > vwc_vm_keys[i].max)
			return false;
	}
	return !vwc_vm_check(s, &error);
}

/*
 * "<#feature args>": a count that must be even and no larger than what is
 * left of the line.
 */
int vwc_parse_feature_count(const char *s, unsigned int argc_left,
			    unsigned int *count, const char **error)
{
	u64 n;

	if (vwc_parse_u64(s, &n)) {
		*error = "Invalid number of feature arguments";
		return -EINVAL;
	}
	if (n != argc_left) {
		*error = "Number of feature arguments does not match the arguments given";
		return -EINVAL;
	}
	if (n % 2) {
		*error = "Feature arguments must be key value pairs";
		return -EINVAL;
	}
	*count = (unsigned int)n;
	return 0;
}

/*
 * Apply "key value" pairs to @settings.  Each key may appear once.  On
 * error @settings may be partly changed: callers parse into a copy.
 */
int vwc_parse_features(const struct vwc_key *keys, unsigned int nr_keys,
		       void *settings, unsigned int argc, char **argv,
		       const char **error)
{
	unsigned long long seen = 0;
	unsigned int i;
	int r;

	for (i = 0; i + 1 < argc; i += 2) {
		const struct vwc_key *key = vwc_find_key(keys, nr_keys, argv[i]);

		if (!key) {
			*error = "Unknown feature argument";
			return -EINVAL;
		}
		if (seen & (1ULL << (key - keys))) {
			*error = "Duplicate feature argument";
			return -EINVAL;
		}
		seen |= 1ULL << (key - keys);
		r = vwc_key_set(key, settings, argv[i + 1], error);
		if (r)
			return r;
	}
	if (i != argc) {
		*error = "Feature arguments must be key value pairs";
		return -EINVAL;
	}
	return 0;
}

typedef int (*vwc_check_fn)(const void *settings, const char **error);

static int vwc_pool_check_any(const void *s, const char **error)
{
	return vwc_pool_check(s, error);
}

static int vwc_vm_check_any(const void *s, const char **error)
{
	return vwc_vm_check(s, error);
}

/*
 * Change one key of @settings, through @copy so that a refused value,
 * or one that breaks a rule tying keys together, changes nothing.
 */
static int vwc_set_checked(const struct vwc_key *keys, unsigned int nr_keys,
			   vwc_check_fn check, void *settings, void *copy,
			   size_t size, const char *key, const char *value,
			   const char **error)
{
	const struct vwc_key *k = vwc_find_key(keys, nr_keys, key);
	int r;

	if (!k) {
		*error = "Unknown setting";
		return -EINVAL;
	}
	memcpy(copy, settings, size);
	r = vwc_key_set(k, copy, value, error);
	if (!r)
		r = check(copy, error);
	if (r)
		return r;
	memcpy(settings, copy, size);
	return 0;
}

/* "set <key> <value>" for a pool: all or nothing. */
int vwc_pool_set(struct vwc_pool_settings *s, const char *key,
		 const char *value, const char **error)
{
	struct vwc_pool_settings copy;

	return vwc_set_checked(vwc_pool_keys, vwc_nr_pool_keys,
			       vwc_pool_check_any, s, &copy, sizeof(copy),
			       key, value, error);
}

/* "set <key> <value>" for a VM device: all or nothing. */
int vwc_vm_set(struct vwc_vm_settings *s, const char *key,
	       const char *value, const char **error)
{
	struct vwc_vm_settings copy;

	return vwc_set_checked(vwc_vm_keys, vwc_nr_vm_keys, vwc_vm_check_any,
			       s, &copy, sizeof(copy), key, value, error);
}
