// SPDX-License-Identifier: MIT
/*
 * The kernel side of networks and endpoints: a namespace per overlay holding
 * br0 and the VXLAN device, a veth pair per endpoint.  Every function returns
 * 0 or -errno and, on failure, writes what failed and why into err.
 */
#ifndef VXOV_OVERLAY_H
#define VXOV_OVERLAY_H

#include <net/if.h>
#include <netinet/in.h>

#include "driver/lib/options.h"
#include "driver/lib/state.h"
#include "netops/uplink.h"

#define OVERLAY_BRIDGE "br0"
/* The overlay end of an egress=vxov network's uplink (netops/uplink.h). */
#define OVERLAY_UPLINK UPLINK_NS_IF
/* br0's alias in every namespace vxov builds: "vxov network <id> vni <n>". */
#define OVERLAY_MARK "vxov network "

struct underlay {
	struct in_addr ip;
	int ifindex;		/* 0 if not pinned to a device */
	char dev[IF_NAMESIZE];
	unsigned int mtu;
};

/* Find the underlay from --underlay-dev / --underlay-ip or the default route. */
int overlay_underlay(const struct options *cfg, struct underlay *ul, char *err, size_t errlen);

/* "vxlan<vni>": the VXLAN device inside a network's namespace. */
void overlay_vxlan_name(uint32_t vni, char name[IF_NAMESIZE]);
/* "vxg<vni>": the host end of n's uplink (egress=vxov). */
void overlay_uplink_name(uint32_t vni, char name[IF_NAMESIZE]);
/* Make or repair n's uplink (the overlay namespace behind nsfd): 0, 1 if
 * something was (re)made, -errno with err. */
int overlay_uplink(const struct network *n, int nsfd, char *err, size_t errlen);
/* The endpoint's veth ends: the one Docker moves into the container
 * ("vxe" + 12 characters of the ID) and the one on br0 ("vxb" + ...). */
void overlay_veth_names(const char *eid, char host[IF_NAMESIZE], char bridge[IF_NAMESIZE]);

/* Build n's namespace, bridge (holding the gateway) and VXLAN device.  On
 * failure nothing is left behind. */
int overlay_network_create(const struct underlay *ul, const struct network *n,
			   char *err, size_t errlen);
/* Remove n's namespace and everything in it; 0 if it is already gone. */
int overlay_network_delete(const struct network *n, char *err, size_t errlen);
/* 0 if n's namespace, br0 and VXLAN device (with n's VNI) are all there. */
int overlay_network_check(const struct network *n, char *err, size_t errlen);
/* The mark vxov left on br0 in namespace netns, into mark: 0, or -ENOENT
 * when there is none (not ours), another -errno when it cannot be read. */
int overlay_mark(const char *netns, char *mark, size_t len);
/* The underlay address n's VXLAN device sends from. */
int overlay_vxlan_local(const struct network *n, struct in_addr *local, char *err, size_t errlen);
/* The underlay address changed: replace n's VXLAN device with one sending
 * from ul's (same VNI, same bridge; the FDB goes with the old device). */
int overlay_vxlan_replace(const struct underlay *ul, const struct network *n,
			  char *err, size_t errlen);

/* Create e's veth pair with n's MTU: the bridge end on br0 and up, the host
 * end (with e's MAC) left for Docker. */
int overlay_endpoint_create(const struct network *n, const struct endpoint *e,
			    char *err, size_t errlen);
/* Remove e's veth pair wherever its ends are; 0 if already gone. */
int overlay_endpoint_delete(const struct network *n, const struct endpoint *e,
			    char *err, size_t errlen);
/* Remove veth pairs on n's bridge that none of n's endpoints has. */
int overlay_sweep_veths(const struct network *n, char *err, size_t errlen);
/* 0 if e's bridge end exists in n's namespace. */
int overlay_endpoint_check(const struct network *n, const struct endpoint *e);

#endif
