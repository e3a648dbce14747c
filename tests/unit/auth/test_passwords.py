"""Salted password hashes."""

from nova.auth import passwords


def test_hash_verifies_only_its_password():
    stored = passwords.hash_password("pässword", iterations=1000)
    assert passwords.verify_password("pässword", stored)
    assert not passwords.verify_password("password", stored)


def test_same_password_hashes_differently():
    assert passwords.hash_password("x", iterations=1000) != passwords.hash_password("x", iterations=1000)


def test_malformed_hash_matches_nothing():
    for stored in ("", "plain", "md5$1$a$b", "pbkdf2_sha256$many$a$b", "pbkdf2_sha256$10$!!$??"):
        assert not passwords.verify_password("x", stored)
