# -*- Python -*-
# lit configuration of the d2lc test suite.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "D2LC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".py", ".test"]
config.excludes = ["lib", "Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.d2lc_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%models", os.path.join(config.d2lc_src_root, "models")))
config.substitutions.append(("%src_root", config.d2lc_src_root))
config.substitutions.append(("%d2lrt_tests_dir", os.path.join(config.d2lc_obj_root, "runtime")))
# The Python with PyTorch (Debian's python3-torch), and the test helpers.
config.substitutions.append(("%python", config.python_executable))
config.environment["PYTHONPATH"] = os.path.join(config.test_source_root, "lib")
config.environment["PYTHONDONTWRITEBYTECODE"] = "1"
# The compile cache of the runtime stays inside the build tree.
config.environment["D2LC_CACHE_DIR"] = os.path.join(config.d2lc_obj_root, "test", "cache")
# Tests must not depend on the machine's thread count for their numerics.
config.environment["OMP_NUM_THREADS"] = "1"

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()

tool_dirs = [config.d2lc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(
    ["d2lc", "d2lc-opt", "d2lc-run", "d2lc-data", "d2lc-zoo", "d2lrt-compile",
     "d2lrt-example", "d2lc-train"], tool_dirs)
llvm_config.with_environment("PATH", config.d2lc_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
