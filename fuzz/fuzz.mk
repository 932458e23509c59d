# fuzz.mk - builds every fuzz/fuzz_*.c with clang's libFuzzer and runs it for FUZZ_SECONDS.
# Called by `make fuzz`. The seed corpus fuzz/corpus/TARGET is read, never written; new inputs
# go to build/fuzz/corpus/TARGET. A crash stops the run and leaves build/fuzz/artifacts/; add
# the input to fuzz/regressions/TARGET/ when you fix it, so `make test` replays it forever.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FB := build/fuzz
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FCFLAGS := -std=c11 -g -O1 -D_POSIX_C_SOURCE=200809L -Iref/include -Iref/lib \
	$(shell pkg-config --cflags openssl jansson libpcap) $(SAN)
FLIBS := $(shell pkg-config --libs openssl jansson libpcap)

TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
# fault.c belongs to the FAULTS=1 build of the Makefile only.
LIB_SRC := $(filter-out ref/lib/fault.c,$(wildcard ref/lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(FB)/obj/%.o)

.PHONY: run build
.SECONDARY:
run: build
	@for t in $(TARGETS); do \
		mkdir -p $(FB)/corpus/$$t $(FB)/artifacts; \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		$(FB)/bin/fuzz_$$t $(FB)/corpus/$$t fuzz/corpus/$$t \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FB)/artifacts/$$t- 2>$(FB)/$$t.log || \
			{ tail -40 $(FB)/$$t.log; echo "fuzz $$t: crash, see $(FB)/artifacts"; exit 1; }; \
		grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
			$(FB)/$$t.log | sed "s/^/fuzz_$$t./"; \
	done

build: $(TARGETS:%=$(FB)/bin/fuzz_%)

$(FB)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FCFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FB)/bin/fuzz_%: fuzz/fuzz_%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FCFLAGS) -fsanitize=fuzzer -o $@ $^ $(FLIBS)
