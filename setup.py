"""Build the optional C mixing kernel (chanmix._mixloops); everything else is in pyproject.toml.

The kernel is optional: where it cannot be compiled, chanmix installs without it and mixes on
its NumPy path, which gives the same bytes more slowly.
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: Each multiply and add rounded on its own, as NumPy does (no FMA contraction, no
#: reassociation); no errno or trap bookkeeping, so that the loops vectorize.
GCC_FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"]


class BuildExt(build_ext):
    def build_extensions(self) -> None:
        if self.compiler.compiler_type == "unix":
            for ext in self.extensions:
                ext.extra_compile_args = GCC_FLAGS
        super().build_extensions()


setup(
    ext_modules=[Extension("chanmix._mixloops", ["src/chanmix/_mixloops.c"], optional=True)],
    cmdclass={"build_ext": BuildExt},
)
