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

# --- test helpers and unit tests ---------------------------------------------
WAVTOOL_OBJS := $(OBJ)/tests/wavtool.o $(OBJ)/core/wav.o $(OBJ)/core/fmt.o
WAVTOOL      := $(BUILD)/tests/wavtool
SIMREWIND_OBJS := $(OBJ)/tests/simrewind.o $(OBJ)/core/wav.o $(OBJ)/core/fmt.o
SIMREWIND    := $(BUILD)/tests/simrewind

UNIT_TESTS := $(BUILD)/tests/test_fmt $(BUILD)/tests/test_wav \
              $(BUILD)/tests/test_simclock $(BUILD)/tests/test_ptrstat
test_fmt_OBJS      := $(OBJ)/core/fmt.o
test_wav_OBJS      := $(OBJ)/core/wav.o $(OBJ)/core/fmt.o
test_simclock_OBJS := $(OBJ)/tools/simcard/simclock.o
test_ptrstat_OBJS  := $(OBJ)/core/ptrstat.o

PROGRAMS := $(SIMCARD_SO) $(SIMCARD_CONF) $(PTRTEST)
TESTPROGS := $(WAVTOOL) $(SIMREWIND) $(UNIT_TESTS)

all: $(PROGRAMS) $(TESTPROGS)

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

.SECONDEXPANSION:
$(BUILD)/tests/test_%: $(OBJ)/tests/unit/test_%.o $$(test_%_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(MATH_LIBS) $(THREAD_LIBS)

check: all
	BUILD=$(BUILD) SAN=$(SAN) tests/run.sh

demo: all
	BUILD=$(BUILD) scripts/demo.sh

install: $(PROGRAMS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/alsa-lib \
	           $(DESTDIR)$(PREFIX)/share/alsa/alsa.conf.d
	install -m 755 $(PTRTEST) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(SIMCARD_SO) $(DESTDIR)$(PREFIX)/lib/alsa-lib/
	sed 's|@PLUGIN@|$(PREFIX)/lib/alsa-lib/libasound_module_pcm_lullsim.so|' \
	    tools/simcard/lullsim.conf.in | grep -v '^</usr/share/alsa/alsa.conf>' \
	    > $(DESTDIR)$(PREFIX)/share/alsa/alsa.conf.d/50-lullsim.conf

clean:
	rm -rf build

.PHONY: all check demo install clean
-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
