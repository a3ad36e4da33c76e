"""Package discovery: every package under services/ ships as ``vitals.<name>``.

pyproject.toml maps the import package ``vitals`` to the folder ``services/`` (package-dir), and
setuptools' automatic discovery does not look through that mapping; so the packages are found here
instead of being listed by hand (a hand list once left a new subpackage out of ``pip install .``).
Everything else about the build lives in pyproject.toml. tests/test_packaging.py checks that a
non-editable install ships every module and data file.
"""

from setuptools import find_packages, setup

setup(packages=["vitals", *(f"vitals.{name}" for name in find_packages("services"))])
