# SPDX-License-Identifier: MIT
# vxov: `make` builds build/vxov.  `make SAN=1` builds the same under
# AddressSanitizer + UndefinedBehaviorSanitizer in build/san, `make TSAN=1`
# under ThreadSanitizer in build/tsan.  V=1 shows commands.

CC       ?= cc
O        ?= build
PKGS     := libmnl libnftnl libmicrohttpd jansson libcurl
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-unused-parameter -MMD -MP -D_GNU_SOURCE -I. \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcrypto (X25519 for WireGuard keys) outside PKGS: a missing .pc there
# would empty the whole pkg-config answer.
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypto -lpthread
ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif
ifeq ($(SAN),1)
O        := build/san
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif

ifeq ($(TSAN),1)
O        := build/tsan
CFLAGS   += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=thread
endif

ifneq ($(V),1)
Q = @
E = @echo
else
E = @:
endif

# The layers: netops/ (netlink) and kvstore/ (Consul) know nothing of driver/;
# driver/lib/ is shared by driver/docker/ (what Docker talks to) and
# driver/ctl/ (the control loop).
NETOPS   := netops/nl.c netops/netns.c netops/link.c netops/addr.c netops/route.c netops/neigh.c netops/mdb.c netops/nft.c \
            netops/nft_read.c netops/nft_rule.c netops/nft_write.c netops/nft_nat.c \
            netops/nft_nat_rule.c netops/nft_fwd.c netops/nft_fwd_rule.c netops/wg.c
NETOPS   += netops/uplink.c
KVSTORE  := kvstore/env.c kvstore/decode.c kvstore/client.c kvstore/answer.c kvstore/ops.c
LIB      := driver/lib/buf.c driver/lib/log.c driver/lib/options.c driver/lib/netaddr.c \
            driver/lib/state.c driver/lib/file.c driver/lib/hostid.c \
            driver/lib/layout.c driver/lib/htab.c driver/lib/prom.c
# Container names: learnt from the Docker Engine API (a thread of its own),
# served by the resolver (the DNS wire codec).
NAMES    := driver/names/dnswire.c driver/names/dkjson.c driver/names/learn.c
DOCKER   := driver/docker/http.c driver/docker/api.c driver/docker/api_network.c \
            driver/docker/api_endpoint.c driver/docker/api_ports.c driver/docker/api_ipam.c driver/docker/request.c \
            driver/docker/overlay.c driver/docker/metrics.c
CTL      := driver/ctl/ctl.c driver/ctl/core.c driver/ctl/loop.c driver/ctl/wait.c \
            driver/ctl/health.c driver/ctl/job.c driver/ctl/net.c driver/ctl/block.c driver/ctl/group.c \
            driver/ctl/value.c driver/ctl/mirror.c driver/ctl/kernel.c driver/ctl/repl.c driver/ctl/miss.c \
            driver/ctl/session.c driver/ctl/retire.c driver/ctl/publish.c driver/ctl/meta.c driver/ctl/plane.c driver/ctl/vni.c \
            driver/ctl/ipam.c driver/ctl/ipam_addr.c driver/ctl/reclaim.c driver/ctl/ipam_reconcile.c \
            driver/ctl/report.c driver/ctl/names.c driver/ctl/resolver.c driver/ctl/crypt.c driver/ctl/egress.c \
            driver/ctl/crypt_vet.c
# Encrypted networks: WireGuard keys, the Consul peer record, wireguard-go's
# UAPI client and its supervisor.
WG       := driver/wg/key.c driver/wg/record.c driver/wg/uapi.c driver/wg/proc.c driver/wg/dev.c
WG_SRC   := driver/wg/key.c driver/wg/record.c
CORE     := $(LIB) $(NAMES) $(KVSTORE) driver/docker/request.c
VXOV_SRC := $(NETOPS) $(KVSTORE) $(LIB) $(NAMES) $(DOCKER) $(CTL) $(WG) driver/daemon.c driver/resolve.c \
            driver/status.c driver/main.c
NLCTL_SRC:= $(NETOPS) driver/lib/log.c driver/lib/netaddr.c tests/tools/nlctl.c
KVCTL_SRC:= $(KVSTORE) tests/tools/kvctl.c
WGCTL_SRC:= $(WG) $(NETOPS) driver/lib/log.c driver/lib/buf.c driver/lib/netaddr.c driver/lib/file.c tests/tools/wgctl.c
LEARNCTL_SRC:= $(NAMES) driver/lib/log.c driver/lib/buf.c driver/lib/netaddr.c tests/tools/learnctl.c
KVLOAD_SRC:= $(KVSTORE) driver/lib/layout.c driver/lib/netaddr.c tests/tools/kvload.c
UNIT_SRC := $(CORE) tests/unit/test_unit.c
LIBTEST_SRC := $(LIB) $(NAMES) kvstore/env.c tests/unit/test_lib.c
# The control loop's logic on data built in memory: every ctl/ module whole,
# nothing stubbed (with core.kv NULL no request is sent, no socket opened).
CTLTEST_SRC := $(CTL) $(LIB) $(NAMES) $(KVSTORE) $(NETOPS) $(WG) tests/unit/test_ctl.c
WGTEST_SRC := $(WG_SRC) driver/lib/buf.c driver/lib/file.c driver/lib/netaddr.c tests/unit/test_wg.c

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))

all: $(O)/vxov $(O)/nlctl $(O)/kvctl $(O)/wgctl $(O)/learnctl $(O)/kvload $(O)/clockstep.so $(O)/tstop $(O)/mcast $(O)/mcast-static $(O)/dnsq $(O)/dnsq-static

$(O)/vxov: $(call obj,$(VXOV_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/nlctl: $(call obj,$(NLCTL_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/kvctl: $(call obj,$(KVCTL_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A test tool: wireguard-go started and supervised, set and get over its UAPI
# socket (tests/integ/wggo.sh).
$(O)/wgctl: $(call obj,$(WGCTL_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A test tool: runs the name learner against dockerd and prints what it learns.
$(O)/learnctl: $(call obj,$(LEARNCTL_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The benchmark's Consul load generator (bench/scale.sh, bench/burst.sh).
$(O)/kvload: $(call obj,$(KVLOAD_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A test tool: LD_PRELOAD it to step one process's wall clock.
$(O)/clockstep.so: tests/tools/clockstep.c
	$(E) "  CC      $@"
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -shared -fPIC -o $@ $< -ldl

# A test tool: stops one thread (vxov's control loop) with ptrace.
$(O)/tstop: tests/tools/tstop.c
	$(E) "  CC      $@"
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o $@ $<

# A test tool: a numbered UDP stream to a multicast group, and its counter
# (tests/integ/multicast.sh, bench/multicast.sh); static too, to be copied
# into containers (docker2.sh).
$(O)/mcast: tests/tools/mcast.c
	$(E) "  CC      $@"
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o $@ $<

$(O)/mcast-static: tests/tools/mcast.c
	$(E) "  CC      $@"
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -static -o $@ $<

# A test tool: DNS queries, raw or not, and a stand-in upstream server
# (tests/integ/names.sh); static too, to ask from inside containers.
$(O)/dnsq: tests/tools/dnsq.c driver/names/dnswire.c driver/lib/netaddr.c
	$(E) "  CC      $@"
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -I. -o $@ $^

$(O)/dnsq-static: tests/tools/dnsq.c driver/names/dnswire.c driver/lib/netaddr.c
	$(E) "  CC      $@"
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -I. -static -o $@ $^

$(O)/test_unit: $(call obj,$(UNIT_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(O)/test_lib: $(call obj,$(LIBTEST_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(O)/test_ctl: $(call obj,$(CTLTEST_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(O)/test_wg: $(call obj,$(WGTEST_SRC))
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(E) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# libFuzzer harnesses: clang only, always with ASan+UBSan.
FUZZ_CC     := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZERS     := fuzz_request fuzz_state fuzz_miss fuzz_netaddr fuzz_consul fuzz_mdb fuzz_dns fuzz_docker fuzz_wgrec fuzz_uapi \
               fuzz_nft fuzz_nftnat fuzz_nftfwd fuzz_wgnl

fuzz: $(addprefix build/fuzz/,$(FUZZERS))

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CORE) netops/neigh.c netops/nl.c netops/mdb.c
	@mkdir -p $(dir $@)
	$(E) "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

# The WireGuard peer record and key codecs stand apart from CORE.
build/fuzz/fuzz_wgrec: tests/fuzz/fuzz_wgrec.c $(WG_SRC) driver/lib/buf.c driver/lib/file.c \
		       driver/lib/netaddr.c
	@mkdir -p $(dir $@)
	$(E) "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -lcrypto

# The UAPI get answer's parser (driver/wg/), which stands apart from CORE.
build/fuzz/fuzz_uapi: tests/fuzz/fuzz_uapi.c driver/wg/uapi.c driver/lib/buf.c driver/lib/netaddr.c
	@mkdir -p $(dir $@)
	$(E) "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^

# A rule message of the nftables guard (netops/nft_rule.c), on libnftnl; and
# the extended-ack parser it shares with netops/nl.c.
build/fuzz/fuzz_nft: tests/fuzz/fuzz_nft.c netops/nft_rule.c netops/nl.c
	@mkdir -p $(dir $@)
	$(E) "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -lnftnl -lmnl

# A rule dump of the egress NAT (netops/nft_nat_rule.c) compared with its
# table, on libnftnl.
build/fuzz/fuzz_nftnat: tests/fuzz/fuzz_nftnat.c tests/fuzz/nftmsg.c netops/nft_nat_rule.c netops/nft_rule.c
	@mkdir -p $(dir $@)
	$(E) "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -lnftnl -lmnl

# A rule dump of Docker's DOCKER-USER chain (netops/nft_fwd_rule.c) scanned
# for vxov's two accepts, on libnftnl.
build/fuzz/fuzz_nftfwd: tests/fuzz/fuzz_nftfwd.c tests/fuzz/nftmsg.c netops/nft_fwd_rule.c netops/nft_rule.c
	@mkdir -p $(dir $@)
	$(E) "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -lnftnl -lmnl

# The kernel WireGuard's GET_DEVICE dump decoder (netops/wg.c), libmnl only.
build/fuzz/fuzz_wgnl: tests/fuzz/fuzz_wgnl.c netops/wg.c netops/link.c netops/nl.c
	@mkdir -p $(dir $@)
	$(E) "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ -lmnl

# Long fuzzing runs, one harness after another, each FUZZ_SECONDS (default
# 600) from the committed corpus; prints libFuzzer's summary with the exec count.
FUZZ_SECONDS ?= 600
fuzz-long: fuzz
	$(Q)for h in $(FUZZERS); do \
		d=$$(mktemp -d); cp tests/fuzz/corpus/$${h#fuzz_}/* $$d/ 2>/dev/null; \
		echo "== $$h ($(FUZZ_SECONDS) s)"; \
		build/fuzz/$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 $$d 2>&1 | grep -E '^Done|stat::number_of_executed_units|ERROR|SUMMARY'; \
		rm -rf $$d; \
	done

unit: $(O)/test_unit $(O)/test_lib $(O)/test_ctl $(O)/test_wg
	$(O)/test_unit
	$(O)/test_lib
	$(O)/test_ctl
	$(O)/test_wg

# The set-up a fresh machine needs (Debian packages); idempotent.
deps:
	$(Q)tests/deps.sh

# A real Consul server for the multi-host tests, built once and cached.
consul: deps
	$(Q)tests/consul/build.sh >/dev/null

# wireguard-go, the userspace WireGuard of encrypted networks, built once and cached.
wggo: deps
	$(Q)tests/wg/build.sh >/dev/null

# The layers: netops/ and kvstore/ stand alone, driver/lib/ below the rest,
# and inside driver/ctl/ each module includes only what stands below it
# (tests/tools/layers.sh has the ranks).
layers:
	$(Q)tests/tools/layers.sh

# Docker Engine 29 and runc 1.3.3 for the Engine 29 pass, built once and cached.
engine: deps
	$(Q)tests/engine/build.sh >/dev/null

# The builds of check use every CPU (its tests then run one at a time).
NPROC    := $(shell nproc 2>/dev/null || echo 2)
check: deps consul wggo engine layers
	$(Q)$(MAKE) -j$(NPROC) --no-print-directory WERROR=1 all build/test_unit build/test_lib build/test_ctl build/test_wg
	$(Q)$(MAKE) -j$(NPROC) --no-print-directory WERROR=1 SAN=1 all build/san/test_unit build/san/test_lib build/san/test_ctl build/san/test_wg
	$(Q)$(MAKE) -j$(NPROC) --no-print-directory WERROR=1 TSAN=1 all build/tsan/test_ctl
	$(Q)$(MAKE) -j$(NPROC) --no-print-directory fuzz
	$(Q)tests/run.sh

demo: deps consul wggo
	$(Q)$(MAKE) --no-print-directory all
	$(Q)contrib/demo.sh

# The fault test for longer than CI runs it: SOAK_ITER iterations (2000).
SOAK_ITER ?= 2000
soak: deps consul
	$(Q)$(MAKE) --no-print-directory all
	$(Q)FAULT_ITER=$(SOAK_ITER) FAULT_CHECK=100 tests/integ/faults.sh
	$(Q)CONSUL_OUTAGE=120 tests/integ/consul.sh

# Speed targets live here, not in the tests.
bench: deps consul
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh

# The managed plugin: rootfs (the binary and what it links) and an offline
# `docker plugin create`.  PLUGIN=name:tag to choose the name; SAN=1 puts
# the ASan+UBSan build in it (tests/integ/plugin.sh).  Settings
# given on make's command line (any env name config.json declares, and
# state.source=, secrets.source=) are applied with `docker plugin set`, then
# the plugin is enabled; with none it is left disabled, since its defaults
# (the default route's device, Consul at 127.0.0.1:8500) fit few hosts, and
# what to set is printed.  The environment is not read: only what is typed.
# A VXOV_*, CONSUL_* or *.source the plugin does not have is an error.
PLUGIN ?= vxov:latest
PLUGIN_SETTABLE := $(shell sed -n 's/.*"name": "\([A-Z_]*\)".*"settable".*/\1/p' plugin-config/config.json) \
                   state.source secrets.source
PLUGIN_SET := $(strip $(foreach v,$(PLUGIN_SETTABLE),$(if $(filter command line,$(origin $(v))),'$(v)=$($(v))')))
PLUGIN_UNKNOWN := $(filter-out $(PLUGIN_SETTABLE),$(filter VXOV_% CONSUL_% %.source,\
                  $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))))
plugin: all
	$(if $(PLUGIN_UNKNOWN),$(error $(PLUGIN_UNKNOWN): not a setting of the plugin; see plugin-config/config.json))
	$(Q)VXOV_BIN=$(O)/vxov plugin-config/build.sh $(PLUGIN) >/dev/null
ifneq ($(strip $(PLUGIN_SET)),)
	$(Q)docker plugin set $(PLUGIN) $(PLUGIN_SET)
	$(Q)docker plugin enable $(PLUGIN)
	@echo "enabled $(PLUGIN) ($(PLUGIN_SET)): docker network create -d $(PLUGIN) ..."
else
	@echo "created $(PLUGIN), disabled: give it this host's settings, then enable it:"
	@echo "  docker plugin set $(PLUGIN) CONSUL_HTTP_ADDR=host:port VXOV_UNDERLAY_DEV=dev ..."
	@echo "  docker plugin enable $(PLUGIN)"
	@echo "(or: make plugin CONSUL_HTTP_ADDR=... VXOV_UNDERLAY_DEV=...; every setting: README, \"As a managed plugin\")"
endif

# The legacy install: the binary and a systemd unit ordered before docker.
PREFIX ?= /usr/local
install: all
	install -D -m 0755 build/vxov $(DESTDIR)$(PREFIX)/sbin/vxov
	install -D -m 0644 contrib/vxov.service $(DESTDIR)/etc/systemd/system/vxov.service
	@echo "installed; settings (VXOV_*, CONSUL_*) go in /etc/default/vxov"

clean:
	rm -rf build

.PHONY: all fuzz fuzz-long unit deps consul wggo engine layers check demo bench soak plugin install clean
-include $(shell find build -name '*.d' 2>/dev/null)
