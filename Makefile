# mxtower build. `make` builds $(B)/mxtower; `make test` builds the ASan+UBSan variant and runs
# every test; `make run` starts a demo node; `make bench`, `make eval`, `make fuzz` as in README.md.
#
# Every .c under src/ except src/main.c goes into one static library per variant; src/main.c links
# it into the binary, tests/unit/test_*.c each link it into one cmocka binary. Adding a file needs
# no edit here.

CC      ?= cc
NPROC   := $(shell nproc 2>/dev/null || echo 2)
PKGS    := libuv openssl libclamav libhs libpcre2-8 lmdb sqlite3 hiredis libcares libmicrohttpd \
           libmagic inih libseccomp liblzma
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wformat=2 -Wvla
CSTD    := -std=c11 -D_GNU_SOURCE
INC     := -Isrc
CFLAGS_REL  := -O2 -g -fno-omit-frame-pointer
# The test build also compiles the fault-injection hooks (MX_FAULT_INJECTION) the tests use.
CFLAGS_ASAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -DMX_FAULT_INJECTION
LIBS    := $(PKG_LIBS) -lm -lpthread

SRC     := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
UNIT    := $(shell find tests/unit -name 'test_*.c' 2>/dev/null | sort)
HDRS    := $(shell find src tests/unit -name '*.h')

# B is the build directory; helpers building side by side use B=build-NAME to stay apart.
B        ?= build
# Defined before any rule names them: prerequisites expand when a rule is read.
TOOLS_SRC := $(shell find tests/tools -name '*.c' 2>/dev/null | sort)
TOOLS_BIN := $(TOOLS_SRC:tests/tools/%.c=$(B)/tools/%)
FUZZ_SRC := $(shell find tests/fuzz -name 'fuzz_*.c' 2>/dev/null | sort)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_OBJ := $(SRC:%.c=$(B)/fuzzobj/%.o)
TORTURE_SRC := $(shell find tests/torture -name '*.c' 2>/dev/null | sort)
TORTURE_BIN := $(TORTURE_SRC:tests/torture/%.c=$(B)/torture/%)
REL_OBJ  := $(SRC:%.c=$(B)/rel/%.o)
ASAN_OBJ := $(SRC:%.c=$(B)/asan/%.o)

.PHONY: all deps run test unit integration bench eval fuzz clean format asan tools
all: $(B)/mxtower

deps:
	@scripts/install-deps

$(B)/rel/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_REL) $(INC) $(PKG_CFLAGS) -c $< -o $@

$(B)/asan/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_ASAN) $(INC) $(PKG_CFLAGS) -c $< -o $@

$(B)/rel/libmxtower.a: $(REL_OBJ)
	@rm -f $@; ar rcs $@ $^

$(B)/asan/libmxtower.a: $(ASAN_OBJ)
	@rm -f $@; ar rcs $@ $^

$(B)/mxtower: $(B)/rel/src/main.o $(B)/rel/libmxtower.a
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LIBS)

$(B)/asan/mxtower: $(B)/asan/src/main.o $(B)/asan/libmxtower.a
	$(CC) $(CFLAGS_ASAN) -o $@ $^ $(LIBS)

UNIT_BIN := $(UNIT:tests/unit/%.c=$(B)/asan/tests/%)
$(B)/asan/tests/%: tests/unit/%.c $(B)/asan/libmxtower.a
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_ASAN) $(INC) $(PKG_CFLAGS) $< -o $@ $(B)/asan/libmxtower.a \
		$(LIBS) -lcmocka

asan: $(B)/asan/mxtower $(UNIT_BIN)

run: deps
	@$(MAKE) --no-print-directory -j$(NPROC) $(B)/mxtower
	MXTOWER=$(B)/mxtower scripts/demo

# deps first, then every build in parallel (one job per core), then the tests.
test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) $(B)/mxtower $(B)/asan/mxtower $(UNIT_BIN) $(TOOLS_BIN) \
		$(FUZZ_BIN) $(TORTURE_BIN)
	@B=$(B) tests/run $(UNIT_BIN)

# Unit tests alone / integration tests alone (same runner, same summary line).
unit: $(B)/asan/mxtower $(UNIT_BIN)
	@B=$(B) tests/run --only-unit $(UNIT_BIN)
integration: $(B)/mxtower $(B)/asan/mxtower $(TOOLS_BIN) $(TORTURE_BIN)
	@B=$(B) tests/run --only-integration

bench: $(B)/mxtower
	@scripts/install-deps --bench
	bench/run

eval: $(B)/mxtower
	bench/eval

# Test-only tools (tests/tools/NAME.c -> $(B)/tools/NAME), linked with the ASan library; a tool
# that needs GMime is named *_gmime.c and gets its flags.
GMIME_FLAGS = $(shell pkg-config --cflags --libs gmime-3.0 2>/dev/null)
$(B)/tools/%_gmime: tests/tools/%_gmime.c $(B)/asan/libmxtower.a
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(CFLAGS_ASAN) $(INC) $(PKG_CFLAGS) $< -o $@ $(B)/asan/libmxtower.a $(LIBS) $(GMIME_FLAGS)
$(B)/tools/%: tests/tools/%.c $(B)/asan/libmxtower.a
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_ASAN) $(INC) $(PKG_CFLAGS) $< -o $@ $(B)/asan/libmxtower.a $(LIBS)
tools: $(TOOLS_BIN)

# libFuzzer targets: tests/fuzz/fuzz_NAME.c -> $(B)/fuzz/fuzz_NAME, with clang and every src/
# file compiled again with -fsanitize=fuzzer-no-link.
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
$(B)/fuzzobj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	clang $(CSTD) $(filter-out -Werror,$(WARN)) -Wno-unknown-warning-option $(FUZZ_CFLAGS) $(INC) $(PKG_CFLAGS) -c $< -o $@
$(B)/fuzz/libmxtower.a: $(FUZZ_OBJ)
	@mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^
$(B)/fuzz/%: tests/fuzz/%.c $(B)/fuzz/libmxtower.a
	@mkdir -p $(dir $@)
	clang $(CSTD) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined $(INC) $(PKG_CFLAGS) $< -o $@ \
		$(B)/fuzz/libmxtower.a $(LIBS)
fuzz-build: $(FUZZ_BIN)

# Allocation-failure torture programs: tests/torture/NAME.c -> $(B)/torture/NAME, without
# sanitizers (the program interposes malloc itself), over the release objects.
$(B)/torture/%: tests/torture/%.c $(B)/rel/libmxtower.a
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_REL) $(INC) $(PKG_CFLAGS) $< -o $@ $(B)/rel/libmxtower.a $(LIBS)

FUZZ_SECONDS ?= 30
fuzz: $(FUZZ_BIN)
	@scripts/install-deps
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_BIN)

format:
	clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build

# --- web: embedded dashboard files ---------------------------------------------------------
# src/web/static.c pulls src/web/static/* into the binary with .incbin; rebuild it when the
# page changes (the generic rules only know about headers).
WEB_STATIC_FILES := $(wildcard src/web/static/*)
$(B)/rel/src/web/static.o $(B)/asan/src/web/static.o $(B)/fuzzobj/src/web/static.o: $(WEB_STATIC_FILES)
