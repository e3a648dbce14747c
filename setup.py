"""Packaging for nova; runtime pins come from requirements.txt."""

import os

from setuptools import find_packages, setup

BINARIES = ("api", "combined", "compute", "dhcpbridge", "manage", "network", "objectstore", "scheduler", "volume")


def runtime_requirements():
    """The pinned lines of requirements.txt between '# [runtime]' and '# [test]'."""
    here = os.path.dirname(os.path.abspath(__file__))
    wanted, section = [], None
    with open(os.path.join(here, "requirements.txt")) as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("# ["):
                section = line[3:-1]
            elif line and not line.startswith("#") and section == "runtime":
                wanted.append(line)
    return wanted


def console_scripts():
    """Every binary that exists goes through the launcher, which monkey-patches first."""
    here = os.path.dirname(os.path.abspath(__file__))
    return [f"nova-{name}=nova.cmd.launch:main" for name in BINARIES
            if os.path.exists(os.path.join(here, "bin", f"nova-{name}"))]


setup(
    name="nova",
    version="2011.2.1",
    description="A cloud controller faithful to the first OpenStack Nova",
    license="Apache-2.0",
    packages=find_packages(exclude=["tests", "tests.*", "bench"]),
    package_data={"nova.db.sqlalchemy": ["migrations/*.mako", "migrations/*.py", "migrations/versions/*.py"]},
    include_package_data=True,
    python_requires=">=3.11",
    install_requires=runtime_requirements(),
    entry_points={"console_scripts": console_scripts()},
)
