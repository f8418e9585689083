import pytest

from k3trio.api.errors import BadRequest
from k3trio.apiserver.storage.continue_token import decode_continue, encode_continue


def test_round_trip():
    token = encode_continue("/registry/configmaps/default/b", "/registry/configmaps/", 42)
    assert "=" not in token
    assert decode_continue(token, "/registry/configmaps/") == ("/registry/configmaps/default/b\x00", 42)


@pytest.mark.parametrize("token", ["!!!", "e30", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MCwic3RhcnQiOiJhIn0"])
def test_bad_tokens(token):
    with pytest.raises(BadRequest, match="continue key is not valid"):
        decode_continue(token, "/registry/x/")
