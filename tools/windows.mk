# make windows: the module (cardrenew-pkcs11.dll) and the CLI
# (cardrenew.exe) cross-built for 64-bit Windows with mingw-w64, into
# build/win64/, and cardrenew.msi when wixl is installed. Each layer's
# plat_win.c is its platform seam; card/win/ stands in for pcsc-lite's
# <PCSC/winscard.h>. OpenSSL is linked statically from tools/win-openssl.sh
# (Debian's source package, built once into build/win64/openssl);
# winpthreads and libgcc statically too, so both import Windows' own DLLs
# alone.
W       := build/win64
HOST    := x86_64-w64-mingw32
WCC     := $(HOST)-gcc
OPENSSL := $(W)/openssl
PLAT    := win

plat_pick = $(filter-out $(1)/plat_%.c,$(wildcard $(1)/*.c)) $(wildcard $(1)/plat_$(PLAT).c)
W_CARD_SRC := $(call plat_pick,card)
W_P11_SRC  := $(call plat_pick,pkcs11)
W_RENEW_SRC := $(call plat_pick,renew)
# hooks, pinentry, the D-Bus reminder and syslog are POSIX services:
# cli/plat_win.c has their entry points (cli/plat.h).
W_CLI_SRC  := $(filter-out cli/hooks.c cli/pinentry.c cli/notify.c cli/log.c,$(call plat_pick,cli))

# -Wno-format: mingw's GCC checks format(printf) against msvcrt's printf
# (no %zu) although __USE_MINGW_ANSI_STDIO gives C99's; the Linux build
# checks the same formats.
# _POSIX_THREAD_SAFE_FUNCTIONS: mingw's gmtime_r and localtime_r.
W_CFLAGS := -std=c11 -D_GNU_SOURCE -D_POSIX_THREAD_SAFE_FUNCTIONS=200112L \
    -DWIN32_LEAN_AND_MEAN -D__USE_MINGW_ANSI_STDIO=1 \
    -DCRYPTOKI_EXPORTS -Wall -Wextra -Werror -Wno-format -O2 \
    -I. -Icard/win -I$(OPENSSL)/include $(shell pkg-config --cflags p11-kit-1)
W_SYSLIBS := -lpthread -lwinscard -lws2_32 -lcrypt32 -lbcrypt -ladvapi32 -luser32
W_STATIC  := -static -static-libgcc

wobj = $(patsubst %.c,$(W)/obj/%.o,$(1))

.PHONY: windows
.DELETE_ON_ERROR:
windows: $(W)/cardrenew-pkcs11.dll $(W)/cardrenew.exe $(if $(shell command -v wixl),$(W)/cardrenew.msi)

# One run of the script makes both (a tree from before libssl.a reruns it).
$(OPENSSL)/libcrypto.a $(OPENSSL)/libssl.a &:
	tools/win-openssl.sh $(OPENSSL) mingw64 $(HOST)-

$(W)/obj/%.o: %.c $(OPENSSL)/libcrypto.a $(OPENSSL)/libssl.a
	@mkdir -p $(dir $@)
	$(WCC) $(W_CFLAGS) -MMD -MP -c $< -o $@

$(W)/cardrenew-pkcs11.dll: $(call wobj,$(W_P11_SRC) $(W_CARD_SRC)) pkcs11/cardrenew-pkcs11.def
	$(WCC) -shared -s -Wl,--no-undefined $(W_STATIC) -o $@ $(filter %.o,$^) \
	    pkcs11/cardrenew-pkcs11.def $(OPENSSL)/libcrypto.a $(W_SYSLIBS)

$(W)/cardrenew.exe: $(call wobj,$(W_CLI_SRC) $(W_RENEW_SRC))
	$(WCC) -s $(W_STATIC) -o $@ $^ $(OPENSSL)/libssl.a $(OPENSSL)/libcrypto.a $(W_SYSLIBS)

# The installer (tools/cardrenew.wxs), when Debian's wixl is installed.
W_VERSION = $(shell sed -n 's/^\#define CLI_VERSION "\(.*\)"/\1/p' cli/cli.h)
$(W)/cardrenew.msi: tools/cardrenew.wxs $(W)/cardrenew-pkcs11.dll $(W)/cardrenew.exe
	wixl -a x64 -D Version=$(W_VERSION) -D Dir=$(W) -o $@ $<

-include $(shell find $(W)/obj -name '*.d' 2>/dev/null)

# What the tests under Wine run (tests/integration/windows_wine.sh): a
# test-only winscard.dll forwarding to scard_bridge (Linux, pcsc-lite) and
# a small PKCS#11 host; the renewal engine's Windows seam on its own.
T := $(W)/tests
.PHONY: windows-tests
windows-tests: windows $(T)/winscard.dll $(T)/p11host.exe $(T)/scard_bridge $(T)/test_renew_plat.exe

$(T)/winscard.dll: tests/win/winscard_fwd.c tests/win/winscard.def tests/win/bridge.h
	@mkdir -p $(dir $@)
	$(WCC) -std=c11 -Wall -Wextra -Werror -O2 -I. -shared -s -static-libgcc -o $@ \
	    tests/win/winscard_fwd.c tests/win/winscard.def -lws2_32

$(T)/p11host.exe: tests/win/p11host.c $(OPENSSL)/libcrypto.a
	@mkdir -p $(dir $@)
	$(WCC) $(W_CFLAGS) -s $(W_STATIC) -o $@ $< $(OPENSSL)/libcrypto.a $(W_SYSLIBS)

$(T)/scard_bridge: tests/win/scard_bridge.c tests/win/bridge.h
	@mkdir -p $(dir $@)
	cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -I. \
	    $(shell pkg-config --cflags libpcsclite) -o $@ $< $(shell pkg-config --libs libpcsclite) -lpthread

$(T)/test_renew_plat.exe: tests/win/test_renew_plat.c renew/plat_win.c renew/plat.h $(OPENSSL)/libcrypto.a
	@mkdir -p $(dir $@)
	$(WCC) $(W_CFLAGS) -s $(W_STATIC) -o $@ tests/win/test_renew_plat.c renew/plat_win.c \
	    $(OPENSSL)/libcrypto.a $(W_SYSLIBS)

# cmocka unit tests under Wine (tests/integration/windows_units_wine.sh):
# the units on portable code, linked with the Windows objects of their
# layer and cmocka cross-built from Debian's source (tools/win-cmocka.sh).
# Linux only: card/ and pkcs11/ units (scripted cards, pcsc-lite, threads),
# test_renew_journal (fsync/rename interposed through dlsym),
# test_renew_module (p11-kit's module loading), test_cli_log (syslog),
# test_cli_print (open_memstream), test_cli_pin (pipe, fd: sources),
# test_cli_nocard (pcsc-lite's socket), test_cli_pinentry and test_cli_tty
# (pinentry and terminals are POSIX-only in the CLI).
CMOCKA := $(W)/cmocka
W_UNITS := test_renew_judge test_renew_policy test_renew_uri test_cli_paths test_cli_opts test_cli_config
W_UNIT_LIBS.renew := $(W_RENEW_SRC)
W_UNIT_LIBS.cli   := $(filter-out cli/main.c,$(W_CLI_SRC)) $(W_RENEW_SRC)
w_layer = $(word 1,$(subst _, ,$(1)))

$(CMOCKA)/libcmocka.a:
	tools/win-cmocka.sh $(CMOCKA) $(HOST)

.SECONDEXPANSION:
.PHONY: windows-units
windows-units: $(patsubst %,$(T)/%.exe,$(W_UNITS))

$(T)/test_%.exe: $(W)/obj/tests/unit/test_%.o $$(call wobj,$$(W_UNIT_LIBS.$$(call w_layer,$$*))) $(CMOCKA)/libcmocka.a
	@mkdir -p $(dir $@)
	$(WCC) -s $(W_STATIC) -o $@ $(filter %.o,$^) $(CMOCKA)/libcmocka.a \
	    $(OPENSSL)/libssl.a $(OPENSSL)/libcrypto.a $(W_SYSLIBS)

$(W)/obj/tests/unit/%.o: tests/unit/%.c $(CMOCKA)/libcmocka.a $(OPENSSL)/libcrypto.a
	@mkdir -p $(dir $@)
	$(WCC) $(W_CFLAGS) -I$(CMOCKA)/include -MMD -MP -c $< -o $@
