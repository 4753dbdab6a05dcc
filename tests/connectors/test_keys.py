import pytest
from joserfc import jwt
from joserfc.jwk import import_key

from connectors.keys import generate_signing_key, public_jwk, public_jwks, signing_key

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


@pytest.mark.parametrize(("alg", "kty"), [("RS384", "RSA"), ("ES384", "EC")])
def test_generated_key_is_a_private_signing_jwk_named_by_its_thumbprint(alg, kty):
    key = generate_signing_key(alg)

    assert (key["kty"], key["alg"], key["use"]) == (kty, alg, "sig")
    assert "d" in key
    assert key["kid"] == import_key(public_jwk(key)).thumbprint()  # RFC 7638
    if alg == "ES384":
        assert key["crv"] == "P-384"


def test_each_generated_key_is_new():
    assert generate_signing_key("ES384")["kid"] != generate_signing_key("ES384")["kid"]


def test_unknown_alg_is_refused():
    with pytest.raises(ValueError, match="RS384"):
        generate_signing_key("HS256")  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_public_half_verifies_what_the_private_key_signs(alg, rs384_key, es384_key):
    private = {"RS384": rs384_key, "ES384": es384_key}[alg]
    public = public_jwk(private)

    assert PRIVATE_MEMBERS.isdisjoint(public)
    assert {k: public[k] for k in ("kid", "alg", "use")} == {k: private[k] for k in ("kid", "alg", "use")}
    token = jwt.encode({"alg": alg}, {"x": 1}, signing_key(private), [alg])
    assert jwt.decode(token, import_key(public), [alg]).claims == {"x": 1}


def test_public_jwks_lists_every_public_key(rs384_key, es384_key):
    jwks = public_jwks([rs384_key, es384_key])

    assert [k["kid"] for k in jwks["keys"]] == [rs384_key["kid"], es384_key["kid"]]
    assert all(PRIVATE_MEMBERS.isdisjoint(k) for k in jwks["keys"])


def test_signing_key_refuses_a_public_key(rs384_key):
    with pytest.raises(ValueError, match="private"):
        signing_key(public_jwk(rs384_key))
