# d2lc: the two commands of the README's quick start, and a few helpers.
#   make demo   set up, build, and run the main job on the bundled LeNet
#   make test   set up, build, and pass every test
BUILD ?= build

.PHONY: all setup build test demo format clean

all: build

setup:
	scripts/setup.sh $(BUILD)

build: setup
	ninja -C $(BUILD)

test: build
	ninja -C $(BUILD) check-d2lc

demo: build
	scripts/demo.sh $(BUILD)

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format-14 -i

clean:
	rm -rf $(BUILD)
