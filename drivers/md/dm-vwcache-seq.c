// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache sequential stream detection: see dm-vwcache-seq.h.
 */
#include "dm-vwcache-seq.h"

void vwc_seq_init(struct vwc_seq *s)
{
	memset(s, 0, sizeof(*s));
}

/*
 * An I/O of @sectors from @sector: the bytes its stream has run, this
 * I/O included.  A stream's count saturates instead of wrapping.
 */
u64 vwc_seq_note(struct vwc_seq *s, u64 sector, u32 sectors)
{
	u64 bytes = (u64)sectors << 9;
	unsigned int i, lru = 0;

	s->clock++;
	for (i = 0; i < VWC_SEQ_STREAMS; i++) {
		if (s->bytes[i] && s->next[i] == sector) {
			s->bytes[i] = bytes > U64_MAX - s->bytes[i] ? U64_MAX :
				      s->bytes[i] + bytes;
			break;
		}
		if (s->clock - s->used[i] > s->clock - s->used[lru])
			lru = i;
	}
	if (i == VWC_SEQ_STREAMS) {
		i = lru;
		s->bytes[i] = bytes;
	}
	s->next[i] = sector + sectors;
	s->used[i] = s->clock;
	s->last = i;
	s->last_sectors = sectors;
	return s->bytes[i];
}

/* The I/O noted last was only its first @sectors (fewer than noted). */
void vwc_seq_shorten(struct vwc_seq *s, u32 sectors)
{
	u32 drop = sectors < s->last_sectors ? s->last_sectors - sectors : 0;
	u64 bytes = (u64)drop << 9;

	s->next[s->last] -= drop;
	s->bytes[s->last] -= bytes < s->bytes[s->last] ? bytes :
			     s->bytes[s->last];
	s->last_sectors -= drop;
}
