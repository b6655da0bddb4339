/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one version of dm-vwcache: the module (MODULE_VERSION), dmcache-ctl
 * (--version), the Makefile (DKMS, "make deb"), dkms.conf, the man page and
 * debian/changelog all take it from here.  scripts/version check verifies
 * that the copies agree; scripts/version set X.Y.Z rewrites them all.
 */
#ifndef DM_VWCACHE_VERSION_H
#define DM_VWCACHE_VERSION_H

#define VWC_VERSION	"0.6.6"

#endif
