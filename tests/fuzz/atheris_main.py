"""One target under atheris (libFuzzer, coverage-guided over nova's modules): ``tools/fuzz`` runs this.

``python3 -m tests.fuzz.atheris_main TARGET [libFuzzer options] [CORPUS_DIR...]``
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["nova"]):
    import nova.api.ec2.authenticate  # noqa: F401
    import nova.api.ec2.params  # noqa: F401
    import nova.auth.signer  # noqa: F401
    import nova.objectstore.app  # noqa: F401
    from tests.fuzz import harness


def main() -> None:
    target = harness.TARGETS[sys.argv[1]] if sys.argv[1] != "mixed" else harness.mixed
    harness.setup()
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
