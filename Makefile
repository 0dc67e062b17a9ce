# popd + imapfetch.  Plain make; CC CFLAGS LDFLAGS PREFIX DESTDIR SYSCONFDIR
# come from the environment or the command line.

CC	?= cc
CFLAGS	?= -O2 -g
PREFIX	?= /usr/local
SYSCONFDIR ?= /etc
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
# CI sets WERROR=-Werror; a user with a newer compiler is not stopped by it.
WERROR	?=

WARN	= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(WERROR)
HARDEN	= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
# popd loads libtls by its SONAME (common/tlsload.h): the one of the
# libtls.so the compiler would link.  dlopen is in libc from glibc 2.34,
# in libdl before.  Worked out once per make, not per compile.
ifeq ($(origin LIBTLS_SONAME),undefined)
LIBTLS_SONAME := $(or $(shell objdump -p "$$($(CC) -print-file-name=libtls.so)" \
    2>/dev/null | awk '$$1 == "SONAME" { print $$2 }'),libtls.so.26)
endif
ifeq ($(origin LIBDL),undefined)
LIBDL := $(shell printf '\043include <dlfcn.h>\nint main(void) { return !dlopen; }\n' | \
    $(CC) -x c -o /dev/null - 2>/dev/null || echo -ldl)
endif
CPPFLAGS_ALL = -std=c11 -D_GNU_SOURCE -DSYSCONFDIR=\"$(SYSCONFDIR)\" -iquote common
CFLAGS_ALL = $(CPPFLAGS_ALL) $(WARN) $(HARDEN) $(CFLAGS) -MMD -MP
LDFLAGS_ALL = -pie $(LDFLAGS)

COMMON_SRC	= $(wildcard common/*.c)
COMMON_OBJ	= $(COMMON_SRC:.c=.o)
POPD_SRC	= $(wildcard popd/*.c)
POPD_OBJ	= $(POPD_SRC:.c=.o)
IMAPFETCH_SRC	= $(wildcard imapfetch/*.c)
IMAPFETCH_OBJ	= $(IMAPFETCH_SRC:.c=.o)
UNIT_SRC	= $(wildcard tests/unit/*.c)
UNIT_BIN	= $(UNIT_SRC:.c=.t)

PROGS	= popd/popd $(if $(IMAPFETCH_SRC),imapfetch/imapfetch)

# libetpan, from its archive when the compiler finds one (ETPAN=static, the
# default then), else the shared library (ETPAN=shared, the default
# otherwise).  Debian's libetpan.so needs some 19 libraries (GnuTLS,
# p11-kit, nettle, gmp, libdb, SASL...) that are mapped and initialised at
# every start though imapfetch runs none of their code: its TLS is libtls
# and its SASL is its own.  From the archive the linker takes only the IMAP
# parser and the stream, which halves the RSS of a start.  The price:
# a security fix in libetpan needs imapfetch rebuilt (the Debian package
# says Static-Built-Using).  libtls stays shared so that OpenSSL's updates
# still reach imapfetch.  make etpan-link says which it will be.
ifeq ($(origin ETPAN_A),undefined)
ETPAN_A := $(realpath $(shell $(CC) -print-file-name=libetpan.a 2>/dev/null))
endif
ETPAN	?= $(if $(ETPAN_A),static,shared)
ifeq ($(ETPAN),static)
ifeq ($(ETPAN_A),)
$(error ETPAN=static: $(CC) finds no libetpan.a (set ETPAN_A=PATH, or ETPAN=shared))
endif
# What the archive's objects need: the -L and -l of libetpan's pkg-config
# file (its other flags are the build specs of its own package), or, without
# pkg-config, what Debian 12's needs (mailimap.o calls sasl_client_*,
# maillock.o lockfile_*).  --as-needed: only those that the objects taken
# use become DT_NEEDED (not GnuTLS or libdb: only objects that imapfetch
# does not take use them).
PKG_CONFIG ?= pkg-config
ifeq ($(origin ETPAN_DEPS),undefined)
ETPAN_DEPS := $(or $(filter-out -letpan,$(shell $(PKG_CONFIG) --static \
    --libs-only-L --libs-only-l libetpan 2>/dev/null)),-lsasl2 -llockfile)
endif
ETPAN_LIBS = $(ETPAN_A) -Wl,--as-needed $(ETPAN_DEPS) -Wl,--no-as-needed
else ifeq ($(ETPAN),shared)
ETPAN_LIBS = -letpan
else
$(error ETPAN is static or shared, not "$(ETPAN)")
endif

all: $(PROGS)

%.o: %.c
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

common/libcommon.a: $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $(COMMON_OBJ)

popd/popd: $(POPD_OBJ) common/libcommon.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(POPD_OBJ) common/libcommon.a -lcrypt $(LIBDL)

# Only tlsload.o names the soname; it is compiled again when that changes.
common/tlsload.o: CPPFLAGS_ALL += -DLIBTLS_SONAME=\"$(LIBTLS_SONAME)\"
common/tlsload.o: common/tlsload.soname
common/tlsload.soname: FORCE
	@echo '$(LIBTLS_SONAME)' | cmp -s - $@ || echo '$(LIBTLS_SONAME)' > $@

# Rewritten only when the libetpan link changes (ETPAN=, a new archive
# path): then what links libetpan links again.
imapfetch/etpan.link: FORCE
	@echo '$(ETPAN_LIBS)' | cmp -s - $@ || echo '$(ETPAN_LIBS)' > $@
FORCE:

imapfetch/imapfetch: $(IMAPFETCH_OBJ) common/libcommon.a imapfetch/etpan.link
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(IMAPFETCH_OBJ) common/libcommon.a \
	    $(ETPAN_LIBS) -ltls

# Unit tests: one C file each, linked with the popd and imapfetch objects
# but their main()s.
POPD_LIBOBJ = $(filter-out popd/main.o,$(POPD_OBJ))
IMAPFETCH_LIBOBJ = $(filter-out imapfetch/main.o,$(IMAPFETCH_OBJ))
UNIT_LIBOBJ = $(POPD_LIBOBJ) $(IMAPFETCH_LIBOBJ)
tests/unit/%.t: tests/unit/%.o $(UNIT_LIBOBJ) common/libcommon.a imapfetch/etpan.link
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(UNIT_LIBOBJ) common/libcommon.a \
	    $(ETPAN_LIBS) -ltls -lcrypt $(LIBDL)

deps:
	@sh .ci/deps

etpan-link:
	@echo "$(ETPAN)$(if $(filter static,$(ETPAN)), $(ETPAN_A) $(ETPAN_DEPS))"

check: deps all $(UNIT_BIN)
	prove -f tests/unit/*.t tests/*.t

# The long crash loop: 100 kill -9 instead of 25, 40 kills in the commit.
check-long: deps all $(UNIT_BIN)
	CRASH_KILLS=100 TARGETED=40 prove -v tests/30-imapfetch-crash.t

# make bench: imapfetch and popd against their peers, side by side, one
# markdown table per group (tests/bench/run; BENCH_QUICK=1 for a smoke run).
# Never part of check: numbers, not verdicts.
BENCH_BIN = tests/bench/popload tests/bench/imapsink tests/bench/popfloor
tests/bench/popload: tests/bench/popload.c
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< -ltls -lpthread
tests/bench/imapsink: tests/bench/imapsink.c
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< -ltls
tests/bench/popfloor: tests/bench/popfloor.c
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< -lcrypt

bench: deps all $(BENCH_BIN)
	sh tests/bench/run

# libFuzzer + ASan + UBSan harnesses (tests/fuzz/), FUZZ_SECONDS each.
fuzz: deps
	sh tests/fuzz/run

# The whole pipeline on this machine, in a temporary directory: Dovecot,
# imapfetch, popd, mpop, and a byte-for-byte comparison (demo/run).
demo: deps all
	sh demo/run

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 755 popd/popd $(DESTDIR)$(SBINDIR)/popd
	install -m 755 imapfetch/imapfetch $(DESTDIR)$(BINDIR)/imapfetch
	install -m 644 man/imapfetch.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/popd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/popd.8 $(DESTDIR)$(MANDIR)/man8/

# Service files are not installed by default: where they go depends on the
# system.  make install-units UNITDIR=/etc/systemd/system.  A file that is
# there already and differs (a local edit) is kept: the new one goes beside
# it as NAME.new, and make says so.
UNITDIR	?= /etc/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
UNIT_FILES = $(wildcard units/*.socket units/*.service units/*.timer)
install-units:
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	@set -e; for u in $(UNIT_FILES) units/popd.sysusers units/popd.tmpfiles; do \
	    case $$u in \
	    *.sysusers) d=$(DESTDIR)$(SYSUSERSDIR)/popd.conf ;; \
	    *.tmpfiles) d=$(DESTDIR)$(TMPFILESDIR)/popd.conf ;; \
	    *) d=$(DESTDIR)$(UNITDIR)/$${u#units/} ;; esac; \
	    sed -e 's|/usr/local/sbin|$(SBINDIR)|; s|/usr/local/bin|$(BINDIR)|' \
	    -e 's|/etc/popd.conf|$(SYSCONFDIR)/popd.conf|' "$$u" > "$$d.tmp"; \
	    if [ -f "$$d" ] && ! cmp -s "$$d" "$$d.tmp"; then \
	        mv "$$d.tmp" "$$d.new"; \
	        echo "install-units: $$d differs (a local edit?): kept; the new one is $$d.new"; \
	    else mv "$$d.tmp" "$$d"; echo "install-units: $$d"; fi; \
	done

clean:
	rm -f common/*.o common/*.d common/*.a common/tlsload.soname popd/*.o popd/*.d popd/popd \
	    imapfetch/*.o imapfetch/*.d imapfetch/imapfetch imapfetch/etpan.link \
	    tests/unit/*.o tests/unit/*.d tests/unit/*.t \
	    $(BENCH_BIN) tests/bench/*.d

.PHONY: FORCE all deps etpan-link check check-long bench fuzz demo install install-units clean deb
.SECONDARY:

-include $(wildcard common/*.d popd/*.d imapfetch/*.d tests/unit/*.d tests/bench/*.d)

# The Debian package (debian/), built in a private copy of the tree: the
# tracked files and the new ones git does not ignore, so uncommitted edits
# count and this tree gets no build products.  popd_*.deb (and the dbgsym
# .deb, .changes, .buildinfo) land in DEBDIR, by default the parent
# directory as dpkg-buildpackage does.  Needs dpkg-dev, debhelper and the
# Build-Depends of debian/control.
DEBDIR	?= ..
deb:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/popd"; \
	git ls-files -z --cached --others --exclude-standard | \
	    tar -c --null -T - --ignore-failed-read -f - | tar -x -C "$$tmp/popd"; \
	(cd "$$tmp/popd" && dpkg-buildpackage -us -uc -b); \
	mkdir -p $(DEBDIR); \
	for f in "$$tmp"/*.deb "$$tmp"/*.changes "$$tmp"/*.buildinfo; do \
	    cp "$$f" $(DEBDIR)/; echo "deb: $(DEBDIR)/$${f##*/}"; done
