"""Packaging details pyproject.toml cannot say: the top-level data folders (templates/,
targets/, zephyr_app/) ship inside the wheel as edgec/_data/<folder>/, found at run time by
edgec.resources.data_dir."""

from setuptools import find_packages, setup

DATA = {f"edgec._data.{name}": name for name in ("templates", "targets", "zephyr_app")}

setup(
    packages=find_packages(include=["edgec", "edgec.*"]) + sorted(DATA),
    package_dir=DATA,
    package_data={"edgec": ["py.typed"], **{package: ["**/*"] for package in DATA}},
)
