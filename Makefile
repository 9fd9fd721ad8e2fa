# banger: thin wrapper over meson that keeps the seed's commands.
#   make / make build     build banger and bangerd into the repo root
#   make check            unit tests (normal + ASan/UBSan build), then integration tests
#   make install          PREFIX (default ~/.local) and DESTDIR honoured
#   make runtime-bundle   build ./runtime (kernel, initrd, rootfs) from Debian packages
#   make runtime-package  pack ./runtime into dist/banger-runtime.tar.gz
#   make demo             the README's main job: build, bundle, boot a VM, ssh into it

PREFIX ?= $(HOME)/.local
DESTDIR ?=
# systemd --user reads units from ~/.local/share/systemd/user and from
# /usr/local/share/systemd/user: the same place under either prefix.
SYSTEMD_USER_DIR ?= $(PREFIX)/share/systemd/user
BUILD ?= build
ASAN_BUILD ?= build-asan
PYTEST ?= /usr/bin/python3 -m pytest
PYTEST_ARGS ?=

BINS = banger bangerd banger-tui banger-init banger-netd banger-sftp

.PHONY: all build deps check unit unit-asan integration install runtime-bundle runtime-package \
	rootfs demo clean format bench fuzz

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	@command -v meson >/dev/null 2>&1 || ./scripts/install-deps.sh
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@for b in $(BINS); do f=$$(find $(BUILD)/src -maxdepth 2 -type f -name $$b -perm -u+x | head -1); \
		[ -n "$$f" ] && cp -f "$$f" ./$$b || true; done

unit: build
	meson test -C $(BUILD) --print-errorlogs

unit-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	meson test -C $(ASAN_BUILD) --print-errorlogs

# Python suites not already run by `meson test` (net, bundle and the guest
# mount plan are). The end-to-end boot comes last: it is the slowest.
PYTHON_SUITES = tests/fcemu tests/dns tests/integration tests/guest/test_boot_qemu.py tests/e2e

# Every daemon answer the tests get through Env.api is checked against
# docs/openapi.yaml (BANGER_OPENAPI_CHECK, tests/integration/openapi_check.py).
integration: build
	BANGER_OPENAPI_CHECK=1 BUILD=$(BUILD) $(PYTEST) $(PYTHON_SUITES) $(PYTEST_ARGS)

# Bounded fuzzing (libFuzzer, ASan, UBSan) of the DNS parser, the TOML
# parser and config mapping, and the API request decoders: FUZZ_SECONDS
# each, one after the other (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 20
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

check: deps
	$(MAKE) build
	$(MAKE) format-check lint
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) runtime-bundle; else \
		echo "check: not root, so no runtime bundle is built: the boot tests will skip"; fi
	$(MAKE) unit unit-asan fuzz
	$(MAKE) integration

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/banger
	install -m 0755 banger bangerd banger-tui $(DESTDIR)$(PREFIX)/bin/
	@if [ -f banger-netd ]; then install -m 0755 banger-netd $(DESTDIR)$(PREFIX)/lib/banger/; fi
	install -m 0755 banger-sftp $(DESTDIR)$(PREFIX)/lib/banger/
	@if [ -d runtime ]; then cp -a runtime/. $(DESTDIR)$(PREFIX)/lib/banger/; fi
	install -d $(DESTDIR)$(SYSTEMD_USER_DIR)
	install -m 0644 data/systemd/bangerd.socket $(DESTDIR)$(SYSTEMD_USER_DIR)/
	sed 's|@BINDIR@|$(PREFIX)/bin|g' data/systemd/bangerd.service.in \
		> $(DESTDIR)$(SYSTEMD_USER_DIR)/bangerd.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_USER_DIR)/bangerd.service
	install -D -m 0644 $(BUILD)/src/cli/banger.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/banger
	install -D -m 0644 $(BUILD)/src/cli/banger.zsh $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_banger
	install -D -m 0644 $(BUILD)/src/cli/banger.fish \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/banger.fish
	@if [ -f $(BUILD)/docs/man/banger.1 ]; then \
		install -D -m 0644 $(BUILD)/docs/man/banger.1 $(DESTDIR)$(PREFIX)/share/man/man1/banger.1 && \
		install -D -m 0644 $(BUILD)/docs/man/banger-config.5 \
			$(DESTDIR)$(PREFIX)/share/man/man5/banger-config.5 && \
		install -D -m 0644 $(BUILD)/docs/man/bangerd.8 $(DESTDIR)$(PREFIX)/share/man/man8/bangerd.8; \
	else echo "install: no man pages (scdoc is missing: make deps)" >&2; fi

runtime-bundle: build
	./scripts/runtime-bundle.sh

runtime-package:
	./scripts/runtime-package.sh

rootfs: build
	./scripts/runtime-bundle.sh --rootfs-only

demo:
	./scripts/demo.sh

bench: build
	@for b in bench/*; do [ -x "$$b" ] && "$$b"; done

# Formatting (.clang-format) and static analysis (cppcheck), both part of
# `make check`. The C files are git's when in a checkout, else found.
CLANG_FORMAT ?= clang-format
CPPCHECK ?= cppcheck
C_SOURCES = $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 2>/dev/null | grep . || \
	find src tests bench -name '*.[ch]' | sort)
.PHONY: format format-check lint

format:
	$(CLANG_FORMAT) -i $(C_SOURCES)

# Fails naming every file clang-format would change.
format-check:
	@bad=""; for f in $(C_SOURCES); do \
		$(CLANG_FORMAT) --dry-run --Werror "$$f" >/dev/null 2>&1 || bad="$$bad $$f"; done; \
	if [ -n "$$bad" ]; then \
		echo "format-check: not formatted as .clang-format says (see the changes with" \
			"clang-format --dry-run FILE; apply them with make format):"; \
		for f in $$bad; do echo "  $$f"; done; exit 1; fi; \
	echo "format-check: ok"

# cppcheck over src/ with the build's own flags; any finding not suppressed
# (with its reason) in tests/lint/cppcheck-suppressions.txt fails.
lint: $(BUILD)/build.ninja
	$(CPPCHECK) --project=$(BUILD)/compile_commands.json --file-filter='src/*' \
		--enable=style,warning,portability,performance --inline-suppr \
		--include=tests/lint/cppcheck-macros.h \
		--suppressions-list=tests/lint/cppcheck-suppressions.txt \
		--error-exitcode=1 --quiet -j2 \
		--template='{file}:{line}: {severity} ({id}): {message}'
	@echo "lint: ok"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BINS)
