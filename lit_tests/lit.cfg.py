"""lit configuration: every .mlir file under lit_tests/ is a test; RUN lines use axc-opt,
xdsl-opt and filecheck from the environment that runs lit (the project's .venv)."""

import os
import shutil
import sys

import lit.formats

config.name = "axc"  # noqa: F821
config.test_format = lit.formats.ShTest(execute_external=False)  # noqa: F821
config.suffixes = [".mlir"]  # noqa: F821
config.test_source_root = os.path.dirname(__file__)  # noqa: F821
config.excludes = ["lit.cfg.py", "Inputs"]  # noqa: F821

bindir = os.path.dirname(sys.executable)
config.environment["PATH"] = bindir + os.pathsep + config.environment.get("PATH", "")  # noqa: F821
config.environment["PYTHONHASHSEED"] = "0"  # noqa: F821
for tool in ("axc-opt", "axc", "filecheck"):
    if shutil.which(tool, path=config.environment["PATH"]) is None:  # noqa: F821
        lit_config.fatal(f"{tool} not found next to {sys.executable}; run `make test`")  # noqa: F821
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))  # noqa: F821
