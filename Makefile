# torchjob — build, test, run. `make run` and `make test` install what is missing first.
CC      ?= cc
OPT     ?= -O2 -g
CFLAGS  := $(OPT) -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -Isrc
LDLIBS  := -luv -lhttp_parser -lyaml -lssl -lcrypto -ljansson -lsqlite3 -lpthread -lm
BUILD   ?= build
SAN     :=
# The daemon's allocator: jemalloc (Debian's libjemalloc-dev). glibc's malloc spent ~22% of the
# daemon's samples on creates (trees built on helper threads and freed on the loop's); jemalloc
# takes ~15% off the CPU per create (docs/PERFORMANCE.md). The sanitizer build keeps its own.
MALLOC  ?= -ljemalloc

SRCS    := $(filter-out src/main.c,$(wildcard src/*.c))
OBJS    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
UNITSRC := $(wildcard tests/unit/test_*.c)
UNITBIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNITSRC))
PYTHON  ?= /usr/bin/python3

.PHONY: all deps run test unit e2e asan clean bench fmt
all: $(BUILD)/torchjobd $(BUILD)/torchjob-logshim

deps:
	@bash scripts/install-deps.sh

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -c $< -o $@

$(BUILD)/libtorchjob.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/torchjobd: $(BUILD)/obj/main.o $(BUILD)/libtorchjob.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS) $(MALLOC)

$(BUILD)/torchjob-logshim: src/shim/logshim.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtorchjob.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -Itests/unit -o $@ $< $(BUILD)/libtorchjob.a $(LDLIBS) -lcmocka

run: deps all
	./$(BUILD)/torchjobd

unit: $(UNITBIN) $(BUILD)/torchjob-logshim
	@set -e; for t in $(UNITBIN); do echo "== $$t"; $$t; done

e2e: all
	$(PYTHON) -m pytest -q tests/e2e $(PYTEST_ARGS)

test: deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory bench-smoke

# ASan/UBSan build of the daemon and unit tests, then the whole suite against it.
asan:
	$(MAKE) --no-print-directory BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" OPT="-O1 -g" MALLOC= all unit
	TORCHJOBD=build-asan/torchjobd ASAN_OPTIONS=detect_leaks=1 $(PYTHON) -m pytest -q tests/e2e $(PYTEST_ARGS)

clean:
	rm -rf build build-asan

# Benchmarks (bench/, docs/PERFORMANCE.md). `make bench`: every figure against nginx and etcd on
# this machine (several minutes), rewriting the generated part of docs/PERFORMANCE.md; extra
# arguments for bench/bench.py in BENCH_ARGS. `make bench-smoke`: the same scripts with tiny counts
# and durations (seconds), so they keep working; part of `make test`.
.PHONY: bench-smoke
$(BUILD)/bench/tjload: bench/tjload.c
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -std=gnu11 -Wall -Wextra -o $@ $< -lssl -lcrypto -lm

bench: all $(BUILD)/bench/tjload
	bash bench/run.sh --binary $(BUILD)/torchjobd --tjload $(BUILD)/bench/tjload --doc docs/PERFORMANCE.md --profile $(BENCH_ARGS)

bench-smoke: all $(BUILD)/bench/tjload
	bash bench/run.sh --smoke --binary $(BUILD)/torchjobd --tjload $(BUILD)/bench/tjload $(BENCH_ARGS)

# `make jsonbench`: microseconds per parse and dump of bench/job.json, jansson against src/jsonio.c.
.PHONY: jsonbench
$(BUILD)/bench/jsonbench: bench/jsonbench.c $(BUILD)/libtorchjob.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libtorchjob.a $(LDLIBS)

jsonbench: $(BUILD)/bench/jsonbench
	./$(BUILD)/bench/jsonbench bench/job.json
