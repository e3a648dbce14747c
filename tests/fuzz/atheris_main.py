"""One target under atheris (libFuzzer, coverage-guided over nova's modules): ``tools/fuzz`` runs this.

``python3 -m tests.fuzz.atheris_main TARGET [libFuzzer options] [CORPUS_DIR...]``
"""

from __future__ import annotations

import sys

import atheris

from tests.fuzz import harness


def main() -> None:
    target = harness.TARGETS[sys.argv[1]] if sys.argv[1] != "mixed" else harness.mixed
    with atheris.instrument_imports(include=["nova"]):  # nova's modules, first imported by setup()
        harness.setup()
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
