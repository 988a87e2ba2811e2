# cardrenew: plain GNU make. Everything is built into $(BUILD)/.
#   make            build what exists (module, CLI, virtual card, test CA)
#   make check      every test; one summary line at the end
#   make demo       status, renewal, status on the virtual card and test CA
#   make bench      benchmarks (printed figures, never pass/fail on speed)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS (60) each (tests/fuzz/)
#   make SAN=1 ...  the same with AddressSanitizer + UBSan, into build/asan
#   make SAN=tsan ... the same with ThreadSanitizer, into build/tsan
#                   (TSan cannot be combined with ASan: a build of its own)
#   make install / uninstall   honour PREFIX and DESTDIR
#   make deb        build/cardrenew_<version>_<arch>.deb (tools/mkdeb.sh)
#   make windows    build/win64/cardrenew-pkcs11.dll and cardrenew.exe (mingw-w64)

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
PKG_CONFIG ?= pkg-config

PKGS := openssl libpcsclite p11-kit-1

WARN    := -Wall -Wextra -Werror
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) -fPIC $(CFLAGS) \
             $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) -I.
LDFLAGS ?=
ALL_LDFLAGS = -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS    = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread -ldl
# The CLI alone speaks D-Bus (desktop notifications), through GIO.
CLI_PKGS := gio-2.0
CLI_LIBS = $(shell $(PKG_CONFIG) --libs $(CLI_PKGS) 2>/dev/null)

ifeq ($(SAN),1)
override BUILD := $(BUILD)/asan
HARDEN  := -fstack-protector-strong
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(SAN),tsan)
override BUILD := $(BUILD)/tsan
HARDEN  := -fstack-protector-strong
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif

# Each layer is every .c in its folder; a folder's main.c is its program.
# Each layer's plat_<platform>.c is its platform seam: plat_posix.c here,
# plat_win.c in `make windows` (tools/windows.mk).
PLAT      ?= posix
plat_pick  = $(filter-out $(1)/plat_%.c,$(wildcard $(1)/*.c)) $(wildcard $(1)/plat_$(PLAT).c)
CARD_SRC  := $(call plat_pick,card)
P11_SRC   := $(wildcard pkcs11/*.c)
RENEW_SRC := $(call plat_pick,renew)
CLI_SRC   := $(filter-out cli/main.c,$(call plat_pick,cli))
VCARD_SRC := $(filter-out tests/vcard/main.c,$(wildcard tests/vcard/*.c))
CA_SRC    := $(filter-out tests/ca/main.c,$(wildcard tests/ca/*.c))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
BENCH_SRC := $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
lib = $(if $(2),$(BUILD)/lib$(1).a)

LIB_CARD  := $(call lib,card,$(CARD_SRC))
LIB_P11   := $(call lib,pkcs11,$(P11_SRC))
LIB_RENEW := $(call lib,renew,$(RENEW_SRC))
LIB_CLI   := $(call lib,cli,$(CLI_SRC))
LIB_VCARD := $(call lib,vcard,$(VCARD_SRC))
LIB_CA    := $(call lib,ca,$(CA_SRC))
ALL_LIBS  := $(LIB_CLI) $(LIB_RENEW) $(LIB_P11) $(LIB_CARD) $(LIB_VCARD) $(LIB_CA)

MODULE := $(if $(P11_SRC),$(BUILD)/cardrenew-pkcs11.so)
CLI    := $(if $(wildcard cli/main.c),$(BUILD)/cardrenew)
VCARD  := $(if $(wildcard tests/vcard/main.c),$(BUILD)/vcard)
CA     := $(if $(wildcard tests/ca/main.c),$(BUILD)/cmp-test-ca)
UNITS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCHES := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all deps programs units tsan check demo bench install uninstall clean windows windows-tests windows-units
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory programs

programs: $(ALL_LIBS) $(MODULE) $(CLI) $(VCARD) $(CA)

units: $(UNITS)

# What the thread tests run under ThreadSanitizer: make SAN=tsan tsan
tsan: $(MODULE) $(BUILD)/tests/test_pkcs11_threads

deps:
	@tools/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libcard.a:   $(call obj,$(CARD_SRC))
$(BUILD)/libpkcs11.a: $(call obj,$(P11_SRC))
$(BUILD)/librenew.a:  $(call obj,$(RENEW_SRC))
$(BUILD)/libcli.a:    $(call obj,$(CLI_SRC))
$(BUILD)/libvcard.a:  $(call obj,$(VCARD_SRC))
$(BUILD)/libca.a:     $(call obj,$(CA_SRC))

# The module exports the PKCS#11 entry points only.
$(BUILD)/obj/pkcs11/%.o: ALL_CFLAGS += -fvisibility=hidden
$(BUILD)/obj/card/%.o:   ALL_CFLAGS += -fvisibility=hidden
$(MODULE): $(call obj,$(P11_SRC) $(CARD_SRC)) pkcs11/exports.map
	$(CC) -shared -Wl,--version-script=pkcs11/exports.map -Wl,--no-undefined \
	    $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS)

$(BUILD)/obj/cli/%.o: ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags $(CLI_PKGS) 2>/dev/null)
$(BUILD)/cardrenew: $(call obj,cli/main.c) $(LIB_CLI) $(LIB_RENEW)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(CLI_LIBS)

$(BUILD)/vcard: $(call obj,tests/vcard/main.c) $(LIB_VCARD)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/cmp-test-ca: $(call obj,tests/ca/main.c) $(LIB_CA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# One cmocka binary per unit: tests/unit/test_<layer>_<unit>.c links the
# internal libraries of its layer and of the layers below it.
layer_libs.card   = card
layer_libs.pkcs11 = pkcs11 card
layer_libs.renew  = renew
layer_libs.cli    = cli renew
layer_libs.vcard  = vcard
layer_libs.ca     = ca
# A few units also run the virtual card in their own process.
unit_extra.test_pkcs11_conform = vcard
unit_layer = $(word 2,$(subst _, ,$(notdir $(1))))
unit_libs  = $(foreach l,$(layer_libs.$(call unit_layer,$(1))) $(unit_extra.$(notdir $(1))),$(BUILD)/lib$(l).a)

.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $$(call unit_libs,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< -Wl,--start-group $(filter %.a,$^) -Wl,--end-group \
	    $(LIBS) $(if $(filter cli,$(call unit_layer,$*)),$(CLI_LIBS)) -lcmocka

$(BUILD)/bench/%: $(call obj,tests/bench/%.c) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< -Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(LIBS) $(CLI_LIBS)

check: all
	@$(MAKE) --no-print-directory units
	@$(MAKE) --no-print-directory SAN=1 programs units
	@$(MAKE) --no-print-directory fuzz-build
	@$(MAKE) --no-print-directory SAN=tsan tsan
	@BUILD=$(BUILD) tests/run

# The Windows module and CLI, cross-built into build/win64 (tools/windows.mk).
windows windows-tests windows-units:
	@$(MAKE) --no-print-directory -f tools/windows.mk $@

demo: all
	@tools/demo.sh

bench: all
	@$(MAKE) --no-print-directory $(BENCHES)
	@tests/bench/run

# Installed layout. The p11-kit module file goes where p11-kit looks for
# packaged modules when PREFIX is /usr; under any other prefix it stays
# inside the prefix (README.md says how to point p11-kit at it).
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
MODDIR     ?= $(LIBDIR)/pkcs11
MANDIR     ?= $(PREFIX)/share/man
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
P11_MODULE_CONFIGS ?= $(shell $(PKG_CONFIG) --variable=p11_module_configs p11-kit-1 2>/dev/null || echo /usr/share/p11-kit/modules)
else
SYSCONFDIR ?= $(PREFIX)/etc
P11_MODULE_CONFIGS ?= $(PREFIX)/share/p11-kit/modules
endif
AUTOSTARTDIR := $(SYSCONFDIR)/xdg/autostart
CONFDIR      := $(SYSCONFDIR)/cardrenew
I := $(DESTDIR)
subst_paths = sed -e 's|@MODDIR@|$(MODDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g'

install: programs
	install -d $(I)$(BINDIR) $(I)$(MODDIR) $(I)$(P11_MODULE_CONFIGS) $(I)$(MANDIR)/man1 \
	    $(I)$(CONFDIR)/renewed.d $(I)$(USERUNITDIR) $(I)$(AUTOSTARTDIR)
	install -m 0644 $(MODULE) $(I)$(MODDIR)/
	install -m 0755 $(CLI) $(I)$(BINDIR)/
	install -m 0644 cli/cardrenew.1 $(I)$(MANDIR)/man1/
	$(subst_paths) conf/cardrenew.module.in > $(I)$(P11_MODULE_CONFIGS)/cardrenew.module
	@# An existing configuration is the administrator's: never overwritten.
	[ -e $(I)$(CONFDIR)/cardrenew.conf ] || install -m 0644 conf/cardrenew.conf $(I)$(CONFDIR)/
	$(subst_paths) conf/cardrenew-check.service.in > $(I)$(USERUNITDIR)/cardrenew-check.service
	install -m 0644 conf/cardrenew-check.timer $(I)$(USERUNITDIR)/
	$(subst_paths) conf/cardrenew-check.desktop.in > $(I)$(AUTOSTARTDIR)/cardrenew-check.desktop

uninstall:
	rm -f $(I)$(MODDIR)/cardrenew-pkcs11.so $(I)$(BINDIR)/cardrenew \
	    $(I)$(P11_MODULE_CONFIGS)/cardrenew.module $(I)$(MANDIR)/man1/cardrenew.1 \
	    $(I)$(USERUNITDIR)/cardrenew-check.service $(I)$(USERUNITDIR)/cardrenew-check.timer \
	    $(I)$(AUTOSTARTDIR)/cardrenew-check.desktop
	@# The configuration goes only if nobody changed it.
	if cmp -s conf/cardrenew.conf $(I)$(CONFDIR)/cardrenew.conf; then \
	    rm -f $(I)$(CONFDIR)/cardrenew.conf; \
	elif [ -e $(I)$(CONFDIR)/cardrenew.conf ]; then \
	    echo "kept $(I)$(CONFDIR)/cardrenew.conf: it was changed"; fi
	rmdir $(I)$(CONFDIR)/renewed.d $(I)$(CONFDIR) 2>/dev/null || true

# The Debian package, from the programs already built in $(BUILD).
VERSION := $(shell sed -n 's/^\#define CLI_VERSION "\(.*\)"/\1/p' cli/cli.h)
deb: programs
	@tools/mkdeb.sh $(BUILD) $(VERSION)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

include tests/fuzz/fuzz.mk
