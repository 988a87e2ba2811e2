# tests/fuzz/fuzz.mk: libFuzzer targets (included by the top Makefile).
#   make fuzz              build, then run each target FUZZ_SECONDS (60) under ASan+UBSan
#   make fuzz FUZZ_TARGETS="fuzz_tlv fuzz_x509"    only these
#   make fuzz-build        build only (make check replays the corpora: tests/run)
# Built with clang (Debian's clang + libclang-rt-14-dev) into $(BUILD)/fuzz.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FZ           := $(BUILD)/fuzz
# Every UBSan report is fatal (and halt_on_error, set by run.sh and replay.sh).
FZ_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FZ_CFLAGS     = -std=c11 -D_GNU_SOURCE -Wall -Wextra -g -O1 -fno-omit-frame-pointer \
               -fsanitize=fuzzer-no-link $(FZ_SAN) \
               $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) -I.
FZ_LDFLAGS    = -fsanitize=fuzzer $(FZ_SAN)
# The virtual cards' key generation takes keys from the harness's pool.
FZ_WRAP      := -Wl,--wrap=EVP_PKEY_keygen,--wrap=EVP_PKEY_generate \
                -Wl,--wrap=EVP_PKEY_CTX_set_rsa_keygen_bits,--wrap=EVP_PKEY_Q_keygen

FUZZ_ALL := fuzz_tlv fuzz_x509 fuzz_pkcs15 fuzz_card_g fuzz_card_o fuzz_pkcs11 \
            fuzz_ca_http fuzz_ca_cmp
FUZZ_TARGETS ?= $(FUZZ_ALL)

fzobj = $(patsubst %.c,$(FZ)/obj/%.o,$(1))
# The card layer without pcsc-lite: fz_card.c is the PC/SC behind it.
FZ_CARD  := $(call fzobj,$(filter-out card/pcsc.c,$(CARD_SRC)))
FZ_P11   := $(call fzobj,$(P11_SRC))
FZ_VCARD := $(call fzobj,$(VCARD_SRC))
FZ_CA    := $(call fzobj,$(CA_SRC))
FZ_WORLD := $(call fzobj,tests/fuzz/fz_card.c)

$(FZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FZ_CFLAGS) -MMD -MP -c $< -o $@

$(FZ)/obj/tests/fuzz/fuzz_card_g.o: tests/fuzz/fuzz_card.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FZ_CFLAGS) -DFZ_PROFILE='"G"' -MMD -MP -c $< -o $@
$(FZ)/obj/tests/fuzz/fuzz_card_o.o: tests/fuzz/fuzz_card.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FZ_CFLAGS) -DFZ_PROFILE='"O"' -MMD -MP -c $< -o $@

fz_deps.fuzz_tlv     = $(FZ_CARD)
fz_deps.fuzz_x509    = $(FZ_CARD)
fz_deps.fuzz_pkcs15  = $(FZ_CARD)
fz_deps.fuzz_card_g  = $(FZ_WORLD) $(FZ_CARD) $(FZ_VCARD)
fz_deps.fuzz_card_o  = $(FZ_WORLD) $(FZ_CARD) $(FZ_VCARD)
fz_deps.fuzz_pkcs11  = $(FZ_WORLD) $(FZ_P11) $(FZ_CARD) $(FZ_VCARD)
fz_deps.fuzz_ca_http = $(FZ_CA)
fz_deps.fuzz_ca_cmp  = $(FZ_CA)
fz_wrap.fuzz_card_g  = $(FZ_WRAP)
fz_wrap.fuzz_card_o  = $(FZ_WRAP)
fz_wrap.fuzz_pkcs11  = $(FZ_WRAP)

$(FZ)/%: $(FZ)/obj/tests/fuzz/%.o $$(fz_deps.$$*)
	$(FUZZ_CC) $(FZ_LDFLAGS) $(fz_wrap.$*) -o $@ $< \
	    -Wl,--start-group $(filter-out $<,$^) -Wl,--end-group $(LIBS)

.PHONY: fuzz fuzz-build
fuzz-build:
	@if reason=$$(tests/fuzz/toolchain.sh "$(FUZZ_CC)"); then \
	    $(MAKE) --no-print-directory $(addprefix $(FZ)/,$(FUZZ_TARGETS)); \
	else echo "fuzz: not built: $$reason"; fi

fuzz: deps
	@reason=$$(tests/fuzz/toolchain.sh "$(FUZZ_CC)") || { echo "fuzz: $$reason" >&2; exit 1; }
	@$(MAKE) --no-print-directory $(addprefix $(FZ)/,$(FUZZ_TARGETS))
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_TARGETS)

-include $(shell find $(FZ)/obj -name '*.d' 2>/dev/null)
