// SPDX-License-Identifier: MIT
/*
 * nft_fwd: vxov's two rules in Docker's DOCKER-USER chain.  With its own
 * iptables firewall on (--iptables=true), Docker sets the FORWARD policy to
 * DROP and accepts only its own networks; a drop in any base chain is
 * final, so an egress=vxov network's traffic must be accepted in Docker's
 * chain itself.  DOCKER-USER is the chain Docker keeps for its users
 * (jumped to first from FORWARD, never flushed by Docker).  The rules are
 * written through libnftnl exactly as iptables-nft writes them, so that
 * iptables (and Docker, through it) reads the table as its own: `iptables
 * -S DOCKER-USER` lists them as `-A DOCKER-USER -i vxg+ -j ACCEPT` and
 * `-A DOCKER-USER -o vxg+ -j ACCEPT`, and -C, -D, -A on the chain go on
 * working.  What they let in is narrowed by the NAT table's own forward
 * guard (netops/nft_nat.h): only replies and published ports.
 *
 * Acts in the calling thread's network namespace through a socket of its
 * own (closed before returning); needs CAP_NET_ADMIN there.
 */
#ifndef VXOV_NFT_FWD_H
#define VXOV_NFT_FWD_H

#include <stdbool.h>
#include <stddef.h>

/*
 * In table <family ip> <table> (Docker's "filter", managed by iptables-nft),
 * chain <chain> (Docker's "DOCKER-USER"), when both exist: want=true makes sure
 * the chain holds exactly one of each of these two rules, as iptables-nft writes
 * `-I <chain> -i <prefix>+ -j ACCEPT` and `-I <chain> -o <prefix>+ -j ACCEPT`:
 *   [meta load iifname => reg 1] [cmp eq reg 1 "<prefix>" (strlen(prefix) bytes, no NUL)] [counter] [immediate reg 0 accept]
 *   the same with oifname
 * inserted at the head of the chain when missing (never touching any other
 * rule, and leaving a correct one alone: its counters keep counting); extra
 * copies of exactly these rules are deleted. want=false deletes every rule of
 * exactly these shapes. Returns 0 nothing changed, 1 changed, -ENOENT when the
 * table or chain does not exist (nothing done: Docker's iptables firewall is not
 * there, or it is iptables-legacy), -errno with err otherwise ("nftables: insert
 * rule into chain ip filter DOCKER-USER: ..."). prefix: 1..15 chars [a-z0-9].
 *
 * In one batch: the -o rule then the -i rule inserted at the head (so the
 * chain starts -i, -o), the extra copies deleted by handle.  A rule that
 * matches more (-p tcp, -m comment) or carries userdata is not one of
 * them, and is left alone.  A
 * change between the read and the batch (iptables at work) makes the
 * kernel refuse the batch whole: -errno (-EAGAIN for a rule or the chain
 * gone meanwhile, never -ENOENT), nothing written; the next call starts
 * over.  More than 16 copies of one rule: at most 16 deleted per call
 * (1), the rest by the next calls.  A chain of more than 65536
 * rules: -E2BIG, nothing done.  err: errlen bytes, always NUL-terminated
 * when errlen > 0, empty unless -errno (-ENOENT included: "nftables: read
 * chain ip filter DOCKER-USER: No such file or directory").  Input refused with -EINVAL before anything
 * is read: a table or chain name empty or longer than 63, a bad prefix.
 */
int nft_fwd_accept(const char *table, const char *chain, const char *prefix, bool want,
		   char *err, size_t errlen);

#endif
