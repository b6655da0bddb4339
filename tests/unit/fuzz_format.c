// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the metadata decode path fed arbitrary bytes.  Decode
 * must never crash, and whatever it accepts must be in range and encode
 * back to the same bytes.
 */
#include <stdlib.h>

#include "dm-vwcache-format.h"

static void fuzz_sb(const u8 *data, size_t size)
{
	static u8 c0[VWC_SB_SIZE], c1[VWC_SB_SIZE], again[VWC_SB_SIZE];
	struct vwc_sb sb;
	const char *err = NULL;

	memset(c0, 0, sizeof(c0));
	memset(c1, 0, sizeof(c1));
	memcpy(c0, data, size < VWC_SB_SIZE ? size : VWC_SB_SIZE);
	if (size > VWC_SB_SIZE)
		memcpy(c1, data + VWC_SB_SIZE, size - VWC_SB_SIZE < VWC_SB_SIZE ?
		       size - VWC_SB_SIZE : VWC_SB_SIZE);
	if (vwc_sb_choose(c0, c1, &sb, &err))
		return;
	if (sb.layout.data_start + sb.layout.nr_blocks *
	    (sb.layout.block_size >> 9) > sb.layout.dev_sectors)
		abort();
	vwc_sb_encode(&sb, again);
	if (memcmp(again, sb.copy ? c1 : c0, 128))
		abort();
}

static void fuzz_records(const u8 *data, size_t size)
{
	struct vwc_layout l;
	struct vwc_entry e;
	struct vwc_vm_record r;
	size_t off;

	/* 64 KiB blocks: 32-byte entries with 16 sub-blocks. */
	vwc_layout_compute(2097152, 65536, VWC_FORMAT_INCOMPAT, &l);
	for (off = 0; off + l.entry_size <= size; off += l.entry_size) {
		struct vwc_disk_entry_sub d;

		memcpy(&d, data + off, l.entry_size);
		if (vwc_entry_decode(&l, &d, off, 1ULL << 39, 0x1234, &e) ==
		    VWC_REC_OK && e.valid &&
		    (e.vm >= l.max_vms || !e.map ||
		     (e.map & ~vwc_sub_full(&l)) || (e.base & ~e.map)))
			abort();
		/* A scrubbed entry decodes, within the same bounds. */
		if (vwc_entry_scrub(&l, &d, off, 1, 0x1234) &&
		    (vwc_entry_decode(&l, &d, off, 1, 0x1234, &e) != VWC_REC_OK ||
		     (e.valid && (!e.dirty || e.base))))
			abort();
	}
	for (off = 0; off + sizeof(struct vwc_disk_vm) <= size;
	     off += sizeof(struct vwc_disk_vm)) {
		struct vwc_disk_vm d;

		memcpy(&d, data + off, sizeof(d));
		if (vwc_vm_decode(&d, off, 1ULL << 39, 0x1234, &r) ==
		    VWC_REC_OK && r.in_use && strlen(r.vm_id) > VWC_VM_ID_MAX)
			abort();
	}
}

/*
 * VM records with a valid checksum (random bytes almost never have one):
 * the field checks alone decide, origin identity included.  What decodes
 * as in use is in range and encodes back to the same bytes.
 */
static void fuzz_sealed_vm(const u8 *data, size_t size)
{
	struct vwc_disk_vm d, re;
	struct vwc_vm_record r;
	__le32 idx = cpu_to_le32(3);

	if (size < sizeof(d))
		return;
	memcpy(&d, data, sizeof(d));
	d.seq = cpu_to_le64(le64_to_cpu(d.seq) & 0xff);
	d.csum = cpu_to_le32(crc32c(crc32c(0x1234, &d, offsetof(struct vwc_disk_vm,
								 csum)),
				    &idx, sizeof(idx)));
	if (vwc_vm_decode(&d, 3, 1ULL << 39, 0x1234, &r) != VWC_REC_OK)
		return;
	if (r.origin.kind > VWC_ORIGIN_KIND_MAX ||
	    (vwc_origin_known(&r.origin) && (!r.in_use || !r.origin.sectors)))
		abort();
	vwc_vm_encode(&re, 3, &r, le64_to_cpu(d.seq), 0x1234);
	if (r.in_use && memcmp(&re, &d, sizeof(d)))
		abort();
}

/*
 * Attachment records with a valid checksum: what decodes is in range (a
 * valid vm_id and path, settings the VM target accepts) and encodes back
 * to the same bytes.
 */
static void fuzz_sealed_attach(const u8 *data, size_t size)
{
	struct vwc_disk_attach d, re;
	struct vwc_attach_record r;
	__le32 idx = cpu_to_le32(5);

	if (size < sizeof(d))
		return;
	memcpy(&d, data, sizeof(d));
	d.seq = cpu_to_le64(le64_to_cpu(d.seq) & 0xff);
	d.csum = cpu_to_le32(crc32c(crc32c(0x1234, &d,
					   offsetof(struct vwc_disk_attach, csum)),
				    &idx, sizeof(idx)));
	if (vwc_attach_decode(&d, 5, 1ULL << 39, 0x1234, &r) != VWC_REC_OK)
		return;
	if (!vwc_vm_id_valid(r.vm_id) || !vwc_attach_path_valid(r.path) ||
	    !vwc_vm_settings_valid(&r.settings))
		abort();
	vwc_attach_encode(&re, 5, &r, le64_to_cpu(d.seq), 0x1234);
	if (memcmp(&re, &d, sizeof(d)))
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	fuzz_sb(data, size);
	fuzz_records(data, size);
	fuzz_sealed_vm(data, size);
	fuzz_sealed_attach(data, size);
	return 0;
}
