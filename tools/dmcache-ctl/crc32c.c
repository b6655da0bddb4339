// SPDX-License-Identifier: GPL-2.0-only
/*
 * crc32c (Castagnoli) for dmcache-ctl's use of the module's format code,
 * with the kernel's calling convention: crc32c(seed, data, len), no final
 * inversion.
 */
#include "dm-vwcache-core.h"

static u32 crc32c_table[256];

static void crc32c_init(void)
{
	u32 i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ ((c & 1) ? 0x82f63b78u : 0);
		crc32c_table[i] = c;
	}
}

u32 crc32c(u32 crc, const void *address, unsigned int length)
{
	const u8 *p = address;

	if (!crc32c_table[1])
		crc32c_init();
	while (length--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}
