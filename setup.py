"""Builds the extension module maddness._maddness with CMake, for pip and `python3 -m build`.

The package's metadata and files are in pyproject.toml; this file only tells setuptools how to
make the extension: configure the project with CMake (the library and the Python module only, for
the Python that runs the build), build the target maddness_python, and copy the module it makes
into the wheel. CMake's build folder is build-pip/cmake in the source tree, or
$MADDNESS_PIP_BUILD_DIR; a second build reuses it. CMAKE_BUILD_PARALLEL_LEVEL sets the number of
compile jobs (default: the number of CPUs).
"""

import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(HERE, "build-pip"), exist_ok=True)  # egg_base below must exist


class CMakeExtension(Extension):
    """An extension built by CMake's target `target`, which writes it into `package_dir`."""

    def __init__(self, name, target, package_dir):
        super().__init__(name, sources=[])
        self.target = target
        self.package_dir = package_dir


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        if not isinstance(ext, CMakeExtension):
            return super().build_extension(ext)
        build_dir = os.environ.get("MADDNESS_PIP_BUILD_DIR") or os.path.join(
            HERE, "build-pip", "cmake")
        os.makedirs(build_dir, exist_ok=True)
        configure = [
            "cmake", "-S", HERE, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython_EXECUTABLE={sys.executable}",
            "-DMADDNESS_BUILD_PYTHON=ON", "-DMADDNESS_BUILD_TESTS=OFF",
            "-DMADDNESS_BUILD_TOOLS=OFF", "-DMADDNESS_BUILD_EXPERIMENTS=OFF",
            "-DMADDNESS_BUILD_BENCH=OFF", "-DMADDNESS_BUILD_EXAMPLES=OFF", "-DMADDNESS_MPI=OFF",
        ]
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        build = ["cmake", "--build", build_dir, "--target", ext.target, "-j", jobs]
        for command in (configure, build):
            print(" ".join(command), flush=True)
            subprocess.run(command, check=True)
        built = glob.glob(os.path.join(build_dir, ext.package_dir, "_maddness*.so"))
        if len(built) != 1:
            raise RuntimeError(f"expected one _maddness*.so in {build_dir}/{ext.package_dir}, "
                               f"found {built}")
        destination = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copyfile(built[0], destination)


setup(
    ext_modules=[CMakeExtension("maddness._maddness", "maddness_python", "python/maddness")],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own folders, away from CMake's build/ of a development checkout.
    options={"build": {"build_base": os.path.join("build-pip", "setuptools")},
             "egg_info": {"egg_base": "build-pip"}},
)
