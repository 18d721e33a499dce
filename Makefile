# autostaple: make, make check, make demo, make check-asan, make check-tsan,
# make check-trixie, make fuzz, make check-fuzz (FUZZ_SECONDS), make bench
# (BENCH_QUICK=1), make deb,
# make install, make uninstall (PREFIX, DESTDIR, BINDIR, LIBDIR, MANDIR,
# DOCDIR).
# See README.md.

VERSION   := 0.1.0
BUILD     ?= build
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra
SANITIZE  ?=
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SANITIZE) -std=gnu11 -DAS_VERSION=\"$(VERSION)\"
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
MANDIR    ?= $(PREFIX)/share/man
DOCDIR    ?= $(PREFIX)/share/doc/autostaple

CORE_SRC := shim/core.c shim/status_cb.c shim/certs.c shim/ptrmap.c shim/cache.c shim/address_room.c shim/thread.c \
            shim/issuer.c shim/fetch.c shim/refresh.c shim/refresher.c shim/succession.c shim/warm_start.c shim/schedule.c shim/dueheap.c shim/persist.c \
            shim/ocsp_file.c shim/ocsp_verify.c shim/ocsp_request.c shim/aia.c shim/config.c shim/log.c \
            shim/report.c shim/status_file.c shim/metrics.c shim/replace_file.c shim/own_dir.c shim/small_file.c shim/lock_order.c
CORE_OBJ := $(CORE_SRC:shim/%.c=$(BUILD)/obj/%.o)
HEADERS  := $(wildcard shim/*.h)

TEST_TOOLS := $(BUILD)/tests/mkresp $(BUILD)/tests/fakeresponder $(BUILD)/tests/loopback_bind.so \
              $(BUILD)/tests/count_locks.so \
              $(BUILD)/tests/fixture_server $(BUILD)/tests/fixture_client $(BUILD)/tests/hammer \
              $(BUILD)/tests/fork_storm
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%) $(BUILD)/tests/unit/verify_tool

.PHONY: FORCE all core-1.1 openssl11 deps check check-asan check-tsan check-trixie deb demo test-tools fuzz check-fuzz bench \
        bench-tools install uninstall clean

all: $(BUILD)/libautostaple.so $(BUILD)/libautostaple-core.so $(BUILD)/autostaple core-1.1

# The core for programs using OpenSSL 1.1: the same sources, built against
# OpenSSL 1.1.1's headers and linked to libssl.so.1.1.  Those come from
# Debian 11's packages (libssl-dev, libssl1.1), which mk/openssl11.sh
# downloads and unpacks into OPENSSL11 (`make openssl11`; `make check` does
# it).  Without them this core is skipped, with a note: OpenSSL 1.1
# programs are then left alone (preload.c logs why).  OPENSSL11=none: no
# fetch, no 1.1 core, tests/openssl11/ skipped (check-trixie).
OPENSSL11  ?= build/debian11
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
OSSL11_CFLAGS := -I$(OPENSSL11)/usr/include -I$(OPENSSL11)/usr/include/$(MULTIARCH)
OSSL11_LIB := $(OPENSSL11)/usr/lib/$(MULTIARCH)
CORE11_OBJ := $(CORE_SRC:shim/%.c=$(BUILD)/obj-1.1/%.o)

ifneq ($(wildcard $(OPENSSL11)/usr/include/openssl/ssl.h),)
core-1.1: $(BUILD)/libautostaple-core-1.1.so
else
core-1.1:
	@echo "make: skipped $(BUILD)/libautostaple-core-1.1.so (stapling for programs using OpenSSL 1.1): $(if $(filter none,$(OPENSSL11)),OPENSSL11=none,no OpenSSL 1.1.1 headers in $(OPENSSL11); 'make openssl11' fetches them)"
endif

openssl11:
	@mk/openssl11.sh $(OPENSSL11)

$(BUILD)/obj-1.1/%.o: shim/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(OSSL11_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/libautostaple-core-1.1.so: $(CORE11_OBJ) shim/core.map
	$(CC) $(ALL_CFLAGS) -shared -o $@ $(CORE11_OBJ) -Wl,--version-script=shim/core.map \
	    -Wl,-soname,libautostaple-core-1.1.so -Wl,-z,defs -Wl,-z,now -L$(OSSL11_LIB) -lssl -lcrypto -ldl -lpthread

deps:
	@mk/deps.sh build

$(BUILD)/obj/%.o: shim/%.c $(HEADERS) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

# The preload object links to libc only (see shim/preload.c).
$(BUILD)/libautostaple.so: shim/preload.c shim/boundary.h shim/preload.map | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -shared -o $@ shim/preload.c \
	    -Wl,--version-script=shim/preload.map -Wl,-soname,libautostaple.so -Wl,-z,defs -Wl,-z,now \
	    -ldl -lpthread

$(BUILD)/libautostaple-core.so: $(CORE_OBJ) shim/core.map
	$(CC) $(ALL_CFLAGS) -shared -o $@ $(CORE_OBJ) -Wl,--version-script=shim/core.map \
	    -Wl,-soname,libautostaple-core.so -Wl,-z,defs -Wl,-z,now -lssl -lcrypto -ldl -lpthread

$(BUILD)/libascore.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $(CORE_OBJ)

# The command has LIBDIR compiled in (where it looks for the library): it is
# linked again when LIBDIR changes.
$(BUILD)/libdir: FORCE | $(BUILD)/obj
	@echo '$(LIBDIR)' | cmp -s - $@ || echo '$(LIBDIR)' >$@
FORCE:

TOOL_SRC := tools/autostaple.c tools/run.c tools/elfcheck.c tools/check.c tools/status.c tools/options.c
# The core files the command uses, and nothing else: check (the
# configuration, AIA, the issuer search and its fetch, the request and the
# verdict) and status (reading the status files).  A call to any other
# core file fails the link: decide then whether the command should make it.
TOOL_CORE := config log lock_order aia issuer fetch ocsp_request ocsp_verify small_file status_file
TOOL_CORE_OBJ := $(TOOL_CORE:%=$(BUILD)/obj/%.o)
$(BUILD)/autostaple: $(TOOL_SRC) tools/commands.h tools/elfcheck.h tools/options.h $(TOOL_CORE_OBJ) $(BUILD)/libdir
	$(CC) $(ALL_CFLAGS) -Ishim -DAS_LIBDIR=\"$(LIBDIR)\" -o $@ $(TOOL_SRC) $(TOOL_CORE_OBJ) -lssl -lcrypto -ldl -lpthread

$(BUILD)/obj:
	mkdir -p $@ $(BUILD)/tests/unit

# The headers the test and benchmark tools share (tests/helpers/*.h).
HELPER_H := $(wildcard tests/helpers/*.h)

$(BUILD)/tests/fakeresponder: tests/helpers/fakeresponder.c $(HELPER_H) | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -lcrypto -lpthread
$(BUILD)/tests/loopback_bind.so: tests/helpers/loopback_bind.c | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -shared -fPIC -o $@ $< -ldl
$(BUILD)/tests/count_locks.so: tests/helpers/count_locks.c | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -shared -fPIC -o $@ $< -ldl
$(BUILD)/tests/hammer: tests/helpers/hammer.c $(HELPER_H) | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -lssl -lcrypto -lpthread
$(BUILD)/tests/fork_storm: tests/helpers/fork_storm.c | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -lssl -lcrypto -lpthread
$(BUILD)/tests/mkresp: tests/helpers/mkresp.c $(HELPER_H) | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -lssl -lcrypto
$(BUILD)/tests/fixture_%: tests/servers/fixture_%.c | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -lssl -lcrypto -lpthread
# The same fixture server against Debian 11's OpenSSL 1.1.1 (RUNPATH to it),
# and against copies of 1.1.1 and of the system's OpenSSL 3 without symbol
# versions (tests/helpers/unversion.py: a vendor's build) and of 1.1.1's
# libssl renamed libvsl.so.1.1 (rename_soname.py: a vendor's copy); the TLS plugin
# for each ABI; the verification tool (tests/unit/verify.t) on the 1.1
# core.  Only with OPENSSL11 there (core-1.1 above).
OSSL11_TEST_TOOLS := $(BUILD)/tests/fixture_server-1.1 $(BUILD)/tests/fixture_server-1.1u \
                     $(BUILD)/tests/fixture_server-3u $(BUILD)/tests/fixture_server-1.1v \
                     $(BUILD)/tests/unit/verify_tool-1.1 \
                     $(BUILD)/tests/tls_plugin-3.so $(BUILD)/tests/tls_plugin-1.1.so \
                     $(BUILD)/tests/tls_plugin-3v.so $(BUILD)/tests/tls_plugin-1.1v.so
UNVERSIONED11 := $(BUILD)/tests/unversioned-1.1
UNVERSIONED3  := $(BUILD)/tests/unversioned-3
OSSL3_LIB     := $(dir $(shell $(CC) -print-file-name=libssl.so.3))
$(BUILD)/tests/fixture_server-1.1: tests/servers/fixture_server.c | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -std=gnu11 $(OSSL11_CFLAGS) -o $@ $< -L$(OSSL11_LIB) \
	    -Wl,-rpath,$(abspath $(OSSL11_LIB)) -lssl -lcrypto -lpthread
$(UNVERSIONED11)/libssl.so.1.1 $(UNVERSIONED11)/libcrypto.so.1.1: $(UNVERSIONED11)/%: \
        tests/helpers/unversion.py | $(BUILD)/obj
	@mkdir -p $(@D)
	python3 tests/helpers/unversion.py $(OSSL11_LIB)/$* $@
	ln -sf $* $(basename $(basename $@))
$(BUILD)/tests/fixture_server-1.1u: tests/servers/fixture_server.c $(UNVERSIONED11)/libssl.so.1.1 \
        $(UNVERSIONED11)/libcrypto.so.1.1
	$(CC) $(WARN) -O2 -g -std=gnu11 $(OSSL11_CFLAGS) -o $@ $< -L$(UNVERSIONED11) \
	    -Wl,-rpath,$(abspath $(UNVERSIONED11)) -lssl -lcrypto -lpthread
$(UNVERSIONED3)/libssl.so.3 $(UNVERSIONED3)/libcrypto.so.3: $(UNVERSIONED3)/%: \
        tests/helpers/unversion.py | $(BUILD)/obj
	@mkdir -p $(@D)
	python3 tests/helpers/unversion.py $(OSSL3_LIB)$* $@
	ln -sf $* $(basename $@)
$(BUILD)/tests/fixture_server-3u: tests/servers/fixture_server.c $(UNVERSIONED3)/libssl.so.3 \
        $(UNVERSIONED3)/libcrypto.so.3
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -L$(UNVERSIONED3) \
	    -Wl,-rpath,$(abspath $(UNVERSIONED3)) -lssl -lcrypto -lpthread
RENAMED11 := $(BUILD)/tests/renamed-1.1
$(RENAMED11)/libvsl.so.1.1: tests/helpers/rename_soname.py | $(BUILD)/obj
	@mkdir -p $(@D)
	python3 tests/helpers/rename_soname.py $(OSSL11_LIB)/libssl.so.1.1 $@ libvsl.so.1.1
	ln -sf libvsl.so.1.1 $(RENAMED11)/libvsl.so
$(BUILD)/tests/fixture_server-1.1v: tests/servers/fixture_server.c $(RENAMED11)/libvsl.so.1.1
	$(CC) $(WARN) -O2 -g -std=gnu11 $(OSSL11_CFLAGS) -o $@ $< -L$(RENAMED11) -L$(OSSL11_LIB) \
	    -Wl,-rpath,$(abspath $(RENAMED11)):$(abspath $(OSSL11_LIB)) -lvsl -lcrypto -lpthread
$(BUILD)/libascore-1.1.a: $(CORE11_OBJ)
	rm -f $@ && ar rcs $@ $(CORE11_OBJ)
$(BUILD)/tests/unit/verify_tool-1.1: tests/unit/verify_tool.c $(HELPER_H) $(BUILD)/libascore-1.1.a
	$(CC) $(ALL_CFLAGS) $(OSSL11_CFLAGS) -Ishim -o $@ $< $(BUILD)/libascore-1.1.a -L$(OSSL11_LIB) \
	    -Wl,-rpath,$(abspath $(OSSL11_LIB)) -lssl -lcrypto -ldl -lpthread
$(BUILD)/tests/tls_plugin-3.so: tests/helpers/tls_plugin.c | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -std=gnu11 -shared -fPIC -o $@ $< -lssl -lcrypto -lpthread
$(BUILD)/tests/tls_plugin-1.1.so: tests/helpers/tls_plugin.c | $(BUILD)/obj
	$(CC) $(WARN) -O2 -g -std=gnu11 $(OSSL11_CFLAGS) -shared -fPIC -o $@ $< -L$(OSSL11_LIB) \
	    -Wl,-rpath,$(abspath $(OSSL11_LIB)) -lssl -lcrypto -lpthread
# The plugin again, linked to a renamed copy of each libssl (a plugin with
# an OpenSSL of its own, loaded RTLD_LOCAL: 28-private-openssl.t).
RENAMED3 := $(BUILD)/tests/renamed-3
$(RENAMED3)/libvsl.so.3: tests/helpers/rename_soname.py | $(BUILD)/obj
	@mkdir -p $(@D)
	python3 tests/helpers/rename_soname.py $(OSSL3_LIB)libssl.so.3 $@ libvsl.so.3
	ln -sf libvsl.so.3 $(RENAMED3)/libvsl.so
$(BUILD)/tests/tls_plugin-3v.so: tests/helpers/tls_plugin.c $(RENAMED3)/libvsl.so.3
	$(CC) $(WARN) -O2 -g -std=gnu11 -shared -fPIC -o $@ $< -L$(RENAMED3) \
	    -Wl,-rpath,$(abspath $(RENAMED3)) -lvsl -lcrypto -lpthread
$(BUILD)/tests/tls_plugin-1.1v.so: tests/helpers/tls_plugin.c $(RENAMED11)/libvsl.so.1.1
	$(CC) $(WARN) -O2 -g -std=gnu11 $(OSSL11_CFLAGS) -shared -fPIC -o $@ $< -L$(RENAMED11) \
	    -L$(OSSL11_LIB) -Wl,-rpath,$(abspath $(RENAMED11)):$(abspath $(OSSL11_LIB)) -lvsl -lcrypto \
	    -lpthread
ifneq ($(wildcard $(OPENSSL11)/usr/include/openssl/ssl.h),)
TEST_TOOLS += $(OSSL11_TEST_TOOLS)
endif
$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/tap.h $(HELPER_H) $(BUILD)/libascore.a
	$(CC) $(ALL_CFLAGS) -Ishim -o $@ $< $(BUILD)/libascore.a -lssl -lcrypto -ldl -lpthread

test-tools: $(TEST_TOOLS) $(UNIT_BIN)

check:
	@mk/deps.sh check
	@[ "$(OPENSSL11)" = none ] || mk/openssl11.sh $(OPENSSL11)
	@$(MAKE) --no-print-directory all test-tools
	@BUILD=$(BUILD) SANITIZE="$(SANITIZE)" OPENSSL11=$(OPENSSL11) tests/run-suite.sh

# The whole suite with the library built under AddressSanitizer and UBSan.
check-asan:
	@$(MAKE) --no-print-directory check BUILD=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	    SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

# The whole suite with the library built under ThreadSanitizer.
check-tsan:
	@$(MAKE) --no-print-directory check BUILD=build-tsan CFLAGS="-O1 -g" SANITIZE="-fsanitize=thread"

# The Debian package, build/autostaple_VERSION_ARCH.deb (mk/deb.sh says how).
deb:
	@mk/deps.sh deb
	@mk/deb.sh

# The whole suite again inside Debian 13 (OpenSSL 3.5), in a chroot kept in
# build/trixie-root (mk/trixie.sh says how).  Root only.
check-trixie:
	@mk/trixie.sh

# libFuzzer targets (tests/fuzz/fuzz_*.c) for everything that parses
# untrusted bytes, linked with the core built by clang under ASan and UBSan.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 15
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CFLAGS  := $(WARN) -O1 -g -fno-omit-frame-pointer -std=gnu11 -DAS_VERSION=\"$(VERSION)\" \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ     := $(CORE_SRC:shim/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_DIR)/obj/%.o: shim/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/libascore.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $(FUZZ_OBJ)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h tests/fuzz/fuzz_check.h tests/fuzz/fuzz_pki.h \
                    $(FUZZ_DIR)/libascore.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Ishim -o $@ $< $(FUZZ_DIR)/libascore.a \
	    -lssl -lcrypto -ldl -lpthread

fuzz:
	@mk/deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

# Every fuzz target for FUZZ_SECONDS, over a copy of its corpus
# (tests/fuzz/corpus/); fails on any crash, leak or timeout.
check-fuzz: fuzz
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

# Benchmarks (bench/): handshake cost against nginx's own stapling and
# against no stapling, the status callback's instructions under callgrind,
# contention on a certificate's slot lock, start-up cost of a preloaded
# program that serves nothing.  Results in
# $(BUILD)/bench-results; docs/PERFORMANCE.md says what they mean.  Not part
# of make check.  BENCH_QUICK=1 for a short run.
BENCH_TOOLS := $(BUILD)/bench/hsbench $(BUILD)/bench/spawnbench $(BUILD)/bench/mkleaves \
               $(BUILD)/bench/slotbench $(BUILD)/bench/mttax $(BUILD)/bench/scale_certs \
               $(BUILD)/bench/scale_client $(BUILD)/bench/scale_first

$(BUILD)/bench/hsbench: bench/hsbench.c $(HELPER_H) | $(BUILD)/obj
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -lssl -lcrypto -lpthread
$(BUILD)/bench/mkleaves: bench/mkleaves.c $(HELPER_H) | $(BUILD)/obj
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -lssl -lcrypto
$(BUILD)/bench/scale_%: bench/scale_%.c $(HELPER_H) | $(BUILD)/obj
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -lssl -lcrypto -lpthread
$(BUILD)/bench/spawnbench: bench/spawnbench.c | $(BUILD)/obj
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $<
$(BUILD)/bench/mttax: bench/mttax.c | $(BUILD)/obj
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -std=gnu11 -o $@ $< -lpthread
$(BUILD)/bench/slotbench: bench/slotbench.c $(BUILD)/libascore.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ishim -o $@ $< $(BUILD)/libascore.a -lssl -lcrypto -ldl -lpthread

bench-tools: all $(BUILD)/tests/fakeresponder $(BUILD)/tests/mkresp \
             $(BUILD)/tests/fixture_server $(BENCH_TOOLS)

bench:
	@mk/deps.sh bench
	@$(MAKE) --no-print-directory bench-tools
	@BUILD=$(BUILD) bench/run.sh

demo:
	@mk/deps.sh demo
	@$(MAKE) --no-print-directory all $(BUILD)/tests/loopback_bind.so
	@BUILD=$(BUILD) tests/demo.sh

# The files `make install` lays out (the OpenSSL 1.1 core if it was built);
# `make uninstall` removes exactly these (and DOCDIR once it is empty).  The
# preload object loads the cores from its own directory (shim/preload.c):
# all go to LIBDIR.
MAN_PAGES := docs/man/autostaple.1 docs/man/libautostaple.7
DOC_FILES := README.md docs/configuration.md docs/PERFORMANCE.md docs/design.md docs/deploying.md
INSTALLED := $(DESTDIR)$(BINDIR)/autostaple \
             $(DESTDIR)$(LIBDIR)/libautostaple.so $(DESTDIR)$(LIBDIR)/libautostaple-core.so \
             $(DESTDIR)$(LIBDIR)/libautostaple-core-1.1.so \
             $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(filter %.1,$(MAN_PAGES)))) \
             $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(filter %.7,$(MAN_PAGES)))) \
             $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))

# The installed command is linked apart ($(BUILD)/install/), with the
# installed LIBDIR: build/autostaple keeps the one it was built with.  The
# man pages name the installed paths (their sources say /usr/local; in
# groff a path's hyphens are written \-), and the installed README's links
# point beside it (the docs are installed flat); a link to a file only the
# source tree has (tests/, bench/) becomes its name.
INSTALL_ROFF = sed -e 's|/usr/local/lib|$(subst -,\\-,$(LIBDIR))|g' \
                   -e 's|/usr/local/share/doc/autostaple|$(subst -,\\-,$(DOCDIR))|g'

install: $(BUILD)/libautostaple.so $(BUILD)/libautostaple-core.so $(BUILD)/libascore.a core-1.1
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DOCDIR) $(BUILD)/install
	$(CC) $(ALL_CFLAGS) -Ishim -DAS_LIBDIR=\"$(LIBDIR)\" -o $(BUILD)/install/autostaple \
	    $(TOOL_SRC) $(BUILD)/libascore.a -lssl -lcrypto -ldl -lpthread
	install -m 0755 $(BUILD)/install/autostaple $(DESTDIR)$(BINDIR)/
	install -m 0644 $(BUILD)/libautostaple.so $(BUILD)/libautostaple-core.so \
	    $(wildcard $(BUILD)/libautostaple-core-1.1.so) $(DESTDIR)$(LIBDIR)/
	for m in $(MAN_PAGES); do \
	    $(INSTALL_ROFF) $$m >$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/} && \
	    chmod 0644 $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/} || exit 1; \
	done
	install -m 0644 $(filter-out README.md,$(DOC_FILES)) $(DESTDIR)$(DOCDIR)/
	sed -e 's|](docs/|](|g' -e 's,\[\([^]]*\)\](\(tests\|bench\)/[^)]*),\1 (in the source tree),g' \
	    README.md >$(DESTDIR)$(DOCDIR)/README.md
	chmod 0644 $(DESTDIR)$(DOCDIR)/README.md

# Removes the files install wrote, then the directories it may have made,
# each only if empty (and its parents, while empty).
uninstall:
	rm -f $(INSTALLED)
	for d in $(DOCDIR) $(MANDIR)/man1 $(MANDIR)/man7 $(BINDIR) $(LIBDIR); do \
	    if [ -d $(DESTDIR)$$d ]; then rmdir -p --ignore-fail-on-non-empty $(DESTDIR)$$d; fi; \
	done

clean:
	rm -rf build build-asan build-tsan
