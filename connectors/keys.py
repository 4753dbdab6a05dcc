"""Signing keys for SMART client authentication (private_key_jwt), as JWK dicts.

SMART asks clients to support RS384 and ES384 and to publish their public keys as a JWK Set
(https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#registering-a-client-communicating-public-keys).
Keys are plain dicts so the service can keep them in its secret store and serve `public_jwks` at
``/.well-known/jwks.json``. The ``kid`` is the RFC 7638 thumbprint: stable and unique per key.
"""

import functools
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import orjson
from joserfc import jwk

SigningAlg = Literal["RS384", "ES384"]
SIGNING_ALGS: tuple[SigningAlg, ...] = ("RS384", "ES384")
# 2048 bits: what SMART examples and EHR registration portals expect; NIST SP 800-57 accepts it to 2030.
RSA_KEY_BITS = 2048


def generate_signing_key(alg: SigningAlg) -> dict[str, Any]:
    """A new private JWK with ``kid``, ``alg`` and ``use=sig``."""
    parameters: jwk.KeyParameters = {"alg": alg, "use": "sig"}
    key: jwk.Key
    if alg == "RS384":
        key = jwk.RSAKey.generate_key(RSA_KEY_BITS, parameters=parameters, auto_kid=True)
    elif alg == "ES384":
        key = jwk.ECKey.generate_key("P-384", parameters=parameters, auto_kid=True)
    else:
        raise ValueError(f"unsupported signing alg {alg!r}; SMART uses {', '.join(SIGNING_ALGS)}")
    return dict(key.as_dict(private=True))


def signing_key(private: Mapping[str, Any]) -> jwk.Key:
    """The joserfc key for a private JWK dict, refusing keys SMART servers would not accept."""
    if private.get("alg") not in SIGNING_ALGS:
        raise ValueError(f"JWK alg must be one of {', '.join(SIGNING_ALGS)}, got {private.get('alg')!r}")
    if not private.get("kid"):
        raise ValueError("JWK needs a kid: SMART servers pick the verification key by the assertion's kid")
    key = _imported(orjson.dumps(dict(private), option=orjson.OPT_SORT_KEYS))
    if not key.is_private:
        raise ValueError("a private JWK is needed to sign client assertions")
    return key


@functools.lru_cache(maxsize=64)
def _imported(canonical: bytes) -> jwk.Key:
    """A JWK imported once per process: importing an RSA private key checks it (about 50 ms of
    CPU), and every token request signs with the same few keys. Keyed by the whole JWK, so a
    rotated key under the same kid is imported afresh."""
    return jwk.import_key(orjson.loads(canonical))


def public_jwk(private: Mapping[str, Any]) -> dict[str, Any]:
    """The public half of a private JWK, keeping ``kid``, ``alg`` and ``use``."""
    return dict(signing_key(private).as_dict(private=False))


def public_jwks(keys: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A JWK Set of the public halves (RFC 7517 §5), for registration or a jwks_uri."""
    return {"keys": [public_jwk(key) for key in keys]}
