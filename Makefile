# lull — plain Makefile.
#   make                 build everything into build/
#   make check           build and run every test (SAN=1: under ASan/UBSan)
#   make demo            run the demo on the simulated card
#   make install PREFIX=/usr/local
#
# Every object list is explicit; header dependencies come from -MMD.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
CFLAGS  ?= -O2 -g
LULL_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -Wall -Wextra -Werror \
               -Wshadow -Wstrict-prototypes -Wmissing-prototypes -fPIC
ifeq ($(SAN),1)
BUILD   := build/san
LULL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
OBJ     := $(BUILD)/obj

ALSA_LIBS  := -lasound
SRC_LIBS   := -lsamplerate
TEST_LIBS  := -lcmocka
MATH_LIBS  := -lm
THREAD_LIBS := -lpthread -lrt

# --- core: pure code, no ALSA, no sockets ----------------------------------
CORE_OBJS := $(OBJ)/core/fmt.o $(OBJ)/core/wav.o $(OBJ)/core/ptrstat.o

# --- the simulated sound card (ALSA ioplug plugin) --------------------------
SIMCARD_OBJS := $(OBJ)/tools/simcard/simcard.o $(OBJ)/tools/simcard/simclock.o \
                $(OBJ)/tools/simcard/simdac.o $(OBJ)/tools/simcard/simsrc.o \
                $(OBJ)/tools/simcard/simair.o $(OBJ)/tools/simcard/simlog.o \
                $(OBJ)/tools/simcard/simopt.o \
                $(OBJ)/core/fmt.o $(OBJ)/core/wav.o
SIMCARD_SO   := $(BUILD)/libasound_module_pcm_lullsim.so
SIMCARD_CONF := $(BUILD)/lullsim.conf

# --- lull-ptrtest ------------------------------------------------------------
PTRTEST_OBJS := $(OBJ)/tools/ptrtest.o $(OBJ)/sched/ptrprobe.o \
                $(OBJ)/core/ptrstat.o $(OBJ)/core/fmt.o
PTRTEST      := $(BUILD)/lull-ptrtest

# --- ipc: rings, shared memory, protocol, sockets ----------------------------
IPC_OBJS := $(OBJ)/ipc/ring.o $(OBJ)/ipc/shm.o $(OBJ)/ipc/sock.o $(OBJ)/ipc/monitor.o

# --- server-side pure code ---------------------------------------------------
DSP_OBJS := $(OBJ)/core/mix.o $(OBJ)/core/resampler.o $(OBJ)/core/smoother.o

# --- liblull and the client tools --------------------------------------------
LIBLULL_OBJS := $(OBJ)/client/lull.o $(OBJ)/client/conn.o $(OBJ)/client/stream.o \
                $(OBJ)/client/feed.o $(OBJ)/client/worker.o \
                $(OBJ)/client/capture.o $(OBJ)/client/duplex.o $(IPC_OBJS)
LIBLULL_SO   := $(BUILD)/liblull.so.0
$(LIBLULL_SO): LDFLAGS += -Wl,--version-script=client/lull.map -Wl,--no-undefined
LIBLULL_PC   := $(BUILD)/lull.pc
LULLPLAY_OBJS := $(OBJ)/tools/lull-play.o $(OBJ)/tools/cli.o
LULLPLAY     := $(BUILD)/lull-play
LULLREC_OBJS := $(OBJ)/tools/lull-rec.o $(OBJ)/tools/cli.o
LULLREC      := $(BUILD)/lull-rec

# --- latency tools: lull-trace and lull-top, readers of lulld's monitor ------
LULLTRACE_OBJS := $(OBJ)/tools/lull-trace.o $(OBJ)/tools/tracerec.o \
                  $(OBJ)/tools/traceout_csv.o $(OBJ)/tools/traceout_json.o \
                  $(OBJ)/tools/traceout_svg.o $(OBJ)/tools/monitor_client.o \
                  $(OBJ)/ipc/monitor.o $(OBJ)/ipc/sock.o $(OBJ)/core/fmt.o
LULLTRACE      := $(BUILD)/lull-trace
LULLTOP_OBJS   := $(OBJ)/tools/lull-top.o $(OBJ)/tools/monitor_client.o \
                  $(OBJ)/ipc/monitor.o $(OBJ)/ipc/sock.o $(OBJ)/core/fmt.o
LULLTOP        := $(BUILD)/lull-top

# --- lulld ---------------------------------------------------------------------
LULLD_OBJS := $(OBJ)/sched/lulld.o $(OBJ)/sched/options.o $(OBJ)/sched/server.o \
              $(OBJ)/sched/engine.o $(OBJ)/sched/stream.o $(OBJ)/sched/planner.o \
              $(OBJ)/sched/cmdq.o $(OBJ)/sched/trace.o $(OBJ)/sched/alsadev.o \
              $(OBJ)/sched/watermark.o $(OBJ)/sched/capture.o \
              $(OBJ)/sched/recstream.o $(OBJ)/sched/link.o $(OBJ)/sched/athread.o \
              $(OBJ)/sched/devprobe.o $(OBJ)/sched/ptrprobe.o $(OBJ)/core/ptrstat.o \
              $(IPC_OBJS) $(DSP_OBJS) $(OBJ)/core/fmt.o
LULLD      := $(BUILD)/lulld

# The server, its client library and tools (`make server` builds just these).
SERVER_PROGS := $(LIBLULL_SO) $(LIBLULL_PC) $(LULLPLAY) $(LULLREC) $(LULLD)
SERVER_TESTS := $(BUILD)/tests/test_ring $(BUILD)/tests/test_shm \
                $(BUILD)/tests/test_sock $(BUILD)/tests/test_mix \
                $(BUILD)/tests/test_resampler $(BUILD)/tests/test_smoother \
                $(BUILD)/tests/test_planner $(BUILD)/tests/test_engine \
                $(BUILD)/tests/test_client $(BUILD)/tests/test_watermark \
                $(BUILD)/tests/test_capture \
                $(BUILD)/tests/test_devprobe
test_planner_OBJS   := $(OBJ)/sched/planner.o
test_watermark_OBJS := $(OBJ)/sched/watermark.o
test_devprobe_OBJS  := $(OBJ)/sched/devprobe.o $(OBJ)/core/ptrstat.o
test_client_OBJS    := $(LIBLULL_OBJS)
test_engine_OBJS    := $(OBJ)/sched/engine.o $(OBJ)/sched/stream.o $(OBJ)/sched/link.o \
                       $(OBJ)/sched/athread.o \
                       $(OBJ)/sched/planner.o $(OBJ)/sched/cmdq.o $(OBJ)/sched/trace.o \
                       $(OBJ)/sched/watermark.o \
                       $(IPC_OBJS) $(DSP_OBJS) $(OBJ)/core/fmt.o
test_capture_OBJS   := $(OBJ)/sched/capture.o $(OBJ)/sched/recstream.o $(OBJ)/sched/athread.o \
                       $(OBJ)/sched/link.o $(OBJ)/sched/planner.o $(OBJ)/sched/cmdq.o \
                       $(IPC_OBJS) $(DSP_OBJS) $(OBJ)/core/fmt.o
test_ring_OBJS      := $(OBJ)/ipc/ring.o
test_shm_OBJS       := $(OBJ)/ipc/shm.o $(OBJ)/ipc/ring.o
test_sock_OBJS      := $(OBJ)/ipc/sock.o
test_mix_OBJS       := $(OBJ)/core/mix.o
test_resampler_OBJS := $(OBJ)/core/resampler.o
test_smoother_OBJS  := $(OBJ)/core/smoother.o

# --- test helpers and unit tests ---------------------------------------------
WAVTOOL_OBJS := $(OBJ)/tests/wavtool.o $(OBJ)/core/wav.o $(OBJ)/core/fmt.o
WAVTOOL      := $(BUILD)/tests/wavtool
SIMREWIND_OBJS := $(OBJ)/tests/simrewind.o $(OBJ)/core/wav.o $(OBJ)/core/fmt.o
SIMREWIND    := $(BUILD)/tests/simrewind
# lulld's end-to-end clients: lullclient on liblull, hostile on the raw protocol.
LULLCLIENT_OBJS := $(OBJ)/tests/lullclient.o
LULLCLIENT   := $(BUILD)/tests/lullclient
RECCLIENT_OBJS := $(OBJ)/tests/recclient.o
RECCLIENT    := $(BUILD)/tests/recclient
HOSTILE_OBJS := $(OBJ)/tests/hostile.o $(IPC_OBJS)
HOSTILE      := $(BUILD)/tests/hostile

UNIT_TESTS := $(BUILD)/tests/test_fmt $(BUILD)/tests/test_wav \
              $(BUILD)/tests/test_simclock $(BUILD)/tests/test_ptrstat
test_fmt_OBJS      := $(OBJ)/core/fmt.o
test_wav_OBJS      := $(OBJ)/core/wav.o $(OBJ)/core/fmt.o
test_simclock_OBJS := $(OBJ)/tools/simcard/simclock.o
test_ptrstat_OBJS  := $(OBJ)/core/ptrstat.o

PROGRAMS := $(SIMCARD_SO) $(SIMCARD_CONF) $(PTRTEST)
TESTPROGS := $(WAVTOOL) $(SIMREWIND) $(UNIT_TESTS)

all: $(PROGRAMS) $(TESTPROGS) server

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LULL_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(OBJ)/tools/simcard/%.o: LULL_CFLAGS += -DPIC

$(SIMCARD_SO): $(SIMCARD_OBJS)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(ALSA_LIBS) $(MATH_LIBS) $(THREAD_LIBS)

$(SIMCARD_CONF): tools/simcard/lullsim.conf.in
	@mkdir -p $(dir $@)
	sed 's|@PLUGIN@|$(abspath $(SIMCARD_SO))|' $< > $@

$(PTRTEST): $(PTRTEST_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(ALSA_LIBS) $(MATH_LIBS) $(THREAD_LIBS)

$(WAVTOOL): $(WAVTOOL_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(MATH_LIBS)

$(SIMREWIND): $(SIMREWIND_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(ALSA_LIBS) $(MATH_LIBS)

$(LULLCLIENT): $(LULLCLIENT_OBJS) $(LIBLULL_SO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(LULLCLIENT_OBJS) -L$(BUILD) -llull \
	    -Wl,-rpath,'$$ORIGIN/..' $(MATH_LIBS) $(THREAD_LIBS)

$(RECCLIENT): $(RECCLIENT_OBJS) $(LIBLULL_SO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(RECCLIENT_OBJS) -L$(BUILD) -llull \
	    -Wl,-rpath,'$$ORIGIN/..' $(THREAD_LIBS)

$(HOSTILE): $(HOSTILE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(MATH_LIBS)

.SECONDEXPANSION:
$(BUILD)/tests/test_%: $(OBJ)/tests/unit/test_%.o $$(test_%_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SRC_LIBS) $(MATH_LIBS) $(THREAD_LIBS)

server: $(SERVER_PROGS) $(SERVER_TESTS) $(LULLCLIENT) $(RECCLIENT) $(HOSTILE) $(LULLTRACE) $(LULLTOP)

$(LIBLULL_SO): $(LIBLULL_OBJS)
	$(CC) -shared -Wl,-soname,liblull.so.0 $(LDFLAGS) -o $@ $^ $(THREAD_LIBS)
	ln -sf liblull.so.0 $(BUILD)/liblull.so

$(LIBLULL_PC): client/lull.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|' $< > $@

$(LULLPLAY): $(LULLPLAY_OBJS) $(LIBLULL_SO)
	$(CC) $(LDFLAGS) -o $@ $(LULLPLAY_OBJS) -L$(BUILD) -llull \
	    -Wl,-rpath,'$$ORIGIN:$$ORIGIN/../lib' -lsndfile $(MATH_LIBS)

$(LULLREC): $(LULLREC_OBJS) $(LIBLULL_SO)
	$(CC) $(LDFLAGS) -o $@ $(LULLREC_OBJS) -L$(BUILD) -llull \
	    -Wl,-rpath,'$$ORIGIN:$$ORIGIN/../lib' -lsndfile $(MATH_LIBS)

$(LULLD): $(LULLD_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(ALSA_LIBS) $(SRC_LIBS) -linih $(MATH_LIBS) $(THREAD_LIBS)

$(LULLTRACE): $(LULLTRACE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(MATH_LIBS)

$(LULLTOP): $(LULLTOP_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(MATH_LIBS)

check: all
	BUILD=$(BUILD) SAN=$(SAN) tests/run.sh

demo: all
	BUILD=$(BUILD) scripts/demo.sh

install: $(PROGRAMS) server
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/alsa-lib \
	           $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	           $(DESTDIR)$(PREFIX)/share/alsa/alsa.conf.d
	install -m 755 $(PTRTEST) $(LULLD) $(LULLPLAY) $(LULLREC) $(LULLTRACE) $(LULLTOP) \
	    $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(LIBLULL_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf liblull.so.0 $(DESTDIR)$(PREFIX)/lib/liblull.so
	install -m 644 client/lull.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(LIBLULL_PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 $(SIMCARD_SO) $(DESTDIR)$(PREFIX)/lib/alsa-lib/
	sed 's|@PLUGIN@|$(PREFIX)/lib/alsa-lib/libasound_module_pcm_lullsim.so|' \
	    tools/simcard/lullsim.conf.in | grep -v '^</usr/share/alsa/alsa.conf>' \
	    > $(DESTDIR)$(PREFIX)/share/alsa/alsa.conf.d/50-lullsim.conf

clean:
	rm -rf build

# --- benchmarks (print figures, never fail) ------------------------------------
MIXBENCH_OBJS := $(OBJ)/bench/mixbench.o $(OBJ)/core/mix.o $(OBJ)/core/resampler.o
MIXBENCH      := $(BUILD)/bench/mixbench

# The lulld scripts need everything else too: bench/wakeups.sh, bench/joinlat.sh.
bench: $(MIXBENCH) all

$(MIXBENCH): $(MIXBENCH_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SRC_LIBS) $(MATH_LIBS)

.PHONY: bench

.PHONY: all server check demo install clean
-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
