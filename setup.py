"""Package list for setuptools (everything else is in pyproject.toml).

The top-level folder fixtures/ is installed under the name ``bwc_fixtures`` (pyproject.toml maps
the folder), which ``packages.find`` in pyproject.toml cannot express: it would name the package
after its folder.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["harness", "harness.*", "scenarios", "scenarios.*"]), "bwc_fixtures"])
