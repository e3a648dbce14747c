"""Every fuzz target: its regression corpus, then a few seconds of mutations, with no 500 and no exception.

The corpus (tests/fuzz/corpus/<target>/) is grown by ``tools/fuzz``
(atheris, coverage-guided); here each input is replayed, then mutated at
random (bit flips, insertions, deletions, splices, awkward tokens) for
``NOVA_FUZZ_SECONDS`` seconds per target (default 1.5).  A finding is written to
the test's tmp_path and shown as a Python bytes literal to add to the corpus.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from tests.fuzz import harness

SECONDS = float(os.environ.get("NOVA_FUZZ_SECONDS", "1.5"))
TOKENS = (b"\0", b"%", b"%zz", b"%00", b"\xff", b"\xc3\x28", b"&", b"=", b":", b"/", b"..", b"-1", b"0",
          b"99999999999999999999", b"\r\n", b"<", b"]]>", b"&#0;", b'"', b"{", b"[", b"null", b"1e999", b"\\u0000",
          b"bytes=", b",", b";", b" ", b"T", b"Z", b"aws4_request", b"Credential=", b"AWS4-HMAC-SHA256 ")


def mutate(rng: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(6)
        at = rng.randint(0, len(out))
        if choice == 0 and out:
            out[min(at, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1:
            out[at:at] = rng.choice(TOKENS)
        elif choice == 2 and out:
            del out[at:at + rng.randint(1, 16)]
        elif choice == 3 and seeds:
            other = rng.choice(seeds)
            start = rng.randint(0, len(other))
            out[at:at] = other[start:start + rng.randint(1, 64)]
        elif choice == 4:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            out[at:at] = rng.choice(TOKENS) * rng.randint(2, 300)
    return bytes(out[:8192])


def _run(target, data: bytes, tmp_path) -> None:
    try:
        target(data)
    except BaseException:
        (tmp_path / "finding").write_bytes(data)
        print(f"finding (also in {tmp_path / 'finding'}): {data!r}")
        raise


@pytest.mark.parametrize("name", sorted(harness.TARGETS))
def test_corpus_then_mutations_answer_without_a_500(name, tmp_path):
    harness.setup(again=True)
    target = harness.TARGETS[name]
    seeds = []
    for path in harness.corpus(name):
        with open(path, "rb") as handle:
            seeds.append(handle.read())
        _run(target, seeds[-1], tmp_path)
    assert seeds, f"tests/fuzz/corpus/{name} is empty"
    seed = int(os.environ.get("NOVA_FUZZ_SEED", str(time.time_ns())))
    print(f"mutation seed {seed} (NOVA_FUZZ_SEED)")
    rng = random.Random(seed)
    deadline = time.monotonic() + SECONDS
    runs = 0
    while time.monotonic() < deadline:
        _run(target, mutate(rng, rng.choice(seeds), seeds), tmp_path)
        runs += 1
    assert runs > 0


def test_the_seeds_reach_past_authentication():
    """The targets mean something: a signed EC2 query, S3 reads and the identity API answer 2xx."""
    harness.setup(again=True)
    seen = []
    real = harness._check
    harness._check = lambda response, xml_errors=False: (seen.append(response.status_int), real(response, xml_errors))
    try:
        harness.ec2_query(b"\x02")  # DescribeRegions
        harness.s3_request(b"\x00\0b/k\0\0\0")
        harness.openstack_json(b"\x01\0" + b'{"keypair": {"name": "reach"}}')
    finally:
        harness._check = real
    assert seen == [200, 200, 200], seen
