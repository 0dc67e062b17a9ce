# tests/fuzz/fuzz.mk: the libFuzzer harnesses, built with clang, ASan and
# UBSan apart from the normal objects, into tests/fuzz/build/.  Run from
# the top of the tree by tests/fuzz/run (make -f tests/fuzz/fuzz.mk).

CLANG	?= clang
B	 = tests/fuzz/build
SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all
# The project's flags but _FORTIFY_SOURCE (ASan checks bounds itself, and
# fuzz_session.c replaces syslog(3), which fortify would rename).
CPPFLAGS_FUZZ = -std=c11 -D_GNU_SOURCE -DSYSCONFDIR=\"/etc\" -iquote common \
	-iquote popd -iquote imapfetch
CFLAGS_FUZZ = -g -O1 $(SAN) $(CPPFLAGS_FUZZ) -MMD -MP
WARN	= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(WERROR)

HARNESSES = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
COMMON_OBJ = $(patsubst %.c,$(B)/%.o,$(wildcard common/*.c))
POPD_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out popd/main.c,$(wildcard popd/*.c)))
IMAP_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out imapfetch/main.c,$(wildcard imapfetch/*.c)))
LIBS	= $(B)/libpopd.a $(B)/libimapfetch.a $(B)/libcommon.a -ltls -letpan -lcrypt

all: $(addprefix $(B)/,$(HARNESSES))

# The project's code: coverage for libFuzzer, no main.
$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -c -o $@ $<

$(B)/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS_FUZZ) $(WARN) -fsanitize=fuzzer -c -o $@ $<

$(B)/libcommon.a: $(COMMON_OBJ)
$(B)/libpopd.a: $(POPD_OBJ)
$(B)/libimapfetch.a: $(IMAP_OBJ)
$(B)/libcommon.a $(B)/libpopd.a $(B)/libimapfetch.a:
	rm -f $@
	ar rcs $@ $^

$(B)/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/libpopd.a $(B)/libimapfetch.a $(B)/libcommon.a
	$(CLANG) -g -O1 -fsanitize=fuzzer $(SAN) -o $@ $< $(LIBS)

.PHONY: all
.SECONDARY:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
