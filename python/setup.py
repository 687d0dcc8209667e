"""Installs the gradcam package with the checkout's libgcam.so inside it.

    make                                     # builds build/libgcam.so
    ENV/bin/pip install --no-build-isolation --no-index ./python

Why a copy and not a recorded path: the installed package keeps working when
the checkout is rebuilt, cleaned or moved, and it always runs the library
it was installed with (the struct layout it mirrors is checked at import).
The library links Debian's system libraries (oneDNN, libpng, libjpeg,
protobuf-c, libgomp) by soname, which the dynamic loader finds as usual.
The build directory is ../build next to this file (GCAM_BUILD_DIR overrides
it at install time only; nothing reads it at run time).
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))


def find_library():
    build = os.environ.get("GCAM_BUILD_DIR") or os.path.join(os.path.dirname(HERE), "build")
    lib = os.path.join(build, "libgcam.so")
    if not os.path.exists(lib):
        raise SystemExit("gradcam: %s not found: run `make` in the checkout first "
                         "(or set GCAM_BUILD_DIR to the CMake build directory)" % lib)
    return os.path.realpath(lib)


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        dest = os.path.join(self.build_lib, "gradcam", "_libs")
        os.makedirs(dest, exist_ok=True)
        shutil.copyfile(find_library(), os.path.join(dest, "libgcam.so.0"))


class BinaryDistribution(Distribution):
    """A platform wheel: the package carries a shared library."""

    def has_ext_modules(self):
        return True


setup(
    name="gradcam",
    version="0.1.0",
    description="Grad-CAM for ONNX models in C, with pytorch-grad-cam's Python API",
    packages=["gradcam", "gradcam.utils"],
    python_requires=">=3.9",
    install_requires=["numpy"],
    cmdclass={"build_py": BuildWithLibrary},
    distclass=BinaryDistribution,
    zip_safe=False,
)
