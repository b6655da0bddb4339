// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests of dm-vwcache-args.c: numbers, names, keys, all-or-nothing. */
#include "dm-vwcache-args.h"
#include "unit.h"

static void test_u64(void)
{
	u64 v = 7;

	CHECK(vwc_parse_u64("0", &v) == 0 && v == 0);
	CHECK(vwc_parse_u64("18446744073709551615", &v) == 0 && v == U64_MAX);
	CHECK(vwc_parse_u64("18446744073709551616", &v) == -ERANGE);
	CHECK(vwc_parse_u64("99999999999999999999999", &v) == -ERANGE);
	v = 5;
	CHECK(vwc_parse_u64("", &v) == -EINVAL && v == 5);
	CHECK(vwc_parse_u64("-1", &v) == -EINVAL);
	CHECK(vwc_parse_u64("+1", &v) == -EINVAL);
	CHECK(vwc_parse_u64(" 1", &v) == -EINVAL);
	CHECK(vwc_parse_u64("1 ", &v) == -EINVAL);
	CHECK(vwc_parse_u64("0x10", &v) == -EINVAL);
	CHECK(vwc_parse_u64("1e3", &v) == -EINVAL);
	CHECK(vwc_parse_u64(NULL, &v) == -EINVAL && v == 5);
}

static void test_block_size(void)
{
	static const char * const bad[] = {
		"0", "512", "2048", "4095", "6144", "65535", "131072",
		"4096k", "", "-4096", "4096.0",
	};
	u32 bs = 0;
	unsigned int i;

	CHECK(vwc_parse_block_size("4096", &bs) == 0 && bs == 4096);
	CHECK(vwc_parse_block_size("8192", &bs) == 0 && bs == 8192);
	CHECK(vwc_parse_block_size("65536", &bs) == 0 && bs == 65536);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		bs = 1;
		CHECK(vwc_parse_block_size(bad[i], &bs) == -EINVAL && bs == 1);
	}
}

static void test_vm_id(void)
{
	char id[80];

	CHECK(vwc_vm_id_valid("a"));
	CHECK(vwc_vm_id_valid("vm-01.disk_0:uuid"));
	CHECK(!vwc_vm_id_valid(""));
	CHECK(!vwc_vm_id_valid("a b"));
	CHECK(!vwc_vm_id_valid("a/b"));
	CHECK(!vwc_vm_id_valid("é"));
	memset(id, 'x', sizeof(id));
	id[64] = '\0';
	CHECK(vwc_vm_id_valid(id));
	id[64] = 'x';
	id[65] = '\0';
	CHECK(!vwc_vm_id_valid(id));
}

static void test_features(void)
{
	struct vwc_pool_settings s;
	const char *err = NULL;
	char *ok[] = { "high_watermark", "80", "low_watermark", "10",
		       "max_age", "0", "writeback_iops", "1000" };
	char *dup[] = { "max_age", "1", "max_age", "2" };
	char *unknown[] = { "colour", "blue" };
	char *odd[] = { "max_age" };
	char *range[] = { "high_watermark", "101" };
	char *over[] = { "io_capacity_bw", "18446744073709551616" };

	vwc_pool_defaults(&s);
	CHECK(vwc_parse_features(vwc_pool_keys, vwc_nr_pool_keys, &s, 8, ok,
				 &err) == 0);
	CHECK(s.high_watermark == 80 && s.low_watermark == 10 &&
	      s.max_age == 0 && s.writeback_iops == 1000);
	CHECK(vwc_pool_check(&s, &err) == 0);

	err = NULL;
	CHECK(vwc_parse_features(vwc_pool_keys, vwc_nr_pool_keys, &s, 4, dup,
				 &err) == -EINVAL);
	CHECK(err && !strcmp(err, "Duplicate feature argument"));
	CHECK(vwc_parse_features(vwc_pool_keys, vwc_nr_pool_keys, &s, 2,
				 unknown, &err) == -EINVAL);
	CHECK(!strcmp(err, "Unknown feature argument"));
	CHECK(vwc_parse_features(vwc_pool_keys, vwc_nr_pool_keys, &s, 1, odd,
				 &err) == -EINVAL);
	CHECK(!strcmp(err, "Feature arguments must be key value pairs"));
	CHECK(vwc_parse_features(vwc_pool_keys, vwc_nr_pool_keys, &s, 2,
				 range, &err) == -EINVAL);
	CHECK(!strcmp(err, "high_watermark must be an integer from 1 to 100"));
	CHECK(vwc_parse_features(vwc_pool_keys, vwc_nr_pool_keys, &s, 2,
				 over, &err) == -EINVAL);
}

static void test_feature_count(void)
{
	const char *err = NULL;
	unsigned int n = 99;

	CHECK(vwc_parse_feature_count("0", 0, &n, &err) == 0 && n == 0);
	CHECK(vwc_parse_feature_count("4", 4, &n, &err) == 0 && n == 4);
	CHECK(vwc_parse_feature_count("2", 4, &n, &err) == -EINVAL);
	CHECK(vwc_parse_feature_count("3", 3, &n, &err) == -EINVAL);
	CHECK(vwc_parse_feature_count("x", 0, &n, &err) == -EINVAL);
	CHECK(vwc_parse_feature_count("4294967298", 2, &n, &err) == -EINVAL);
}

static void test_pool_set_all_or_nothing(void)
{
	struct vwc_pool_settings s, before;
	const char *err = NULL;

	vwc_pool_defaults(&s);
	before = s;
	CHECK(vwc_pool_set(&s, "low_watermark", "90", &err) == -EINVAL);
	CHECK(!strcmp(err, "low_watermark must be below high_watermark"));
	CHECK(!memcmp(&s, &before, sizeof(s)));
	CHECK(vwc_pool_set(&s, "max_age", "86400001", &err) == -EINVAL);
	CHECK(vwc_pool_set(&s, "nope", "1", &err) == -EINVAL);
	CHECK(vwc_pool_set(&s, "commit_interval", "0", &err) == -EINVAL);
	CHECK(!memcmp(&s, &before, sizeof(s)));
	CHECK(vwc_pool_set(&s, "max_age", "5000", &err) == 0);
	CHECK(s.max_age == 5000);
}

static void test_vm_set(void)
{
	struct vwc_vm_settings s, before;
	const char *err = NULL;

	vwc_vm_defaults(&s);
	CHECK(s.mode == VWC_MODE_WRITEBACK && s.weight == 100);
	before = s;
	CHECK(vwc_vm_set(&s, "weight", "0", &err) == -EINVAL);
	CHECK(vwc_vm_set(&s, "weight", "1001", &err) == -EINVAL);
	CHECK(vwc_vm_set(&s, "mode", "writearound", &err) == -EINVAL);
	CHECK(vwc_vm_set(&s, "mode", "", &err) == -EINVAL);
	CHECK(vwc_vm_set(&s, "iops_limit", "-5", &err) == -EINVAL);
	CHECK(!memcmp(&s, &before, sizeof(s)));
	CHECK(vwc_vm_set(&s, "mode", "writethrough", &err) == 0);
	CHECK(s.mode == VWC_MODE_WRITETHROUGH);
	CHECK(!strcmp(vwc_mode_name(s.mode), "writethrough"));
	CHECK(vwc_vm_set(&s, "bw_limit", "4194304", &err) == 0);
	CHECK(s.bw_limit == 4194304);
}

int main(void)
{
	test_u64();
	test_block_size();
	test_vm_id();
	test_features();
	test_feature_count();
	test_pool_set_all_or_nothing();
	test_vm_set();
	return unit_report("test_args");
}
