"""Finding a Spectra user's Id, way by way (conformance.spectra.users): the target file's user_id, its name, the
access id, the user list matched on AuthId; each request signed by the user, a refused one asked again as the
administrator; every way failing is one line naming the step, each answer and the key to set. The network is a
`httpx.MockTransport` answering from a table: (signer, path) -> (status, body)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from conformance.http import HttpClient
from conformance.names import Names
from conformance.spectra.client import SpectraClient
from conformance.spectra.settings import SpectraTarget, SpectraUser
from conformance.spectra.users import UserIdNotFound, find_user_id

BASE = "http://bp.test"
NOT_FOUND = (404, b"<Error><Code>NotFound</Code><HttpErrorCode>404</HttpErrorCode><Message>no user</Message></Error>")
LIST = (200, b"<Data><User><AuthId>YWRtaW4=</AuthId><Id>a-1</Id><Name>Administrator</Name>"
             b"<SecretKey>k</SecretKey></User><User><AuthId>dXNlcg==</AuthId><Id>u-1</Id><Name>jo</Name></User></Data>")


def client(answers: Mapping[tuple[str, str], tuple[int, bytes]], asked: list[tuple[str, str]], **user: str
           ) -> SpectraClient:
    def handler(request: httpx.Request) -> httpx.Response:
        key = (request.headers["Authorization"].split()[1].partition(":")[0], request.url.path)
        asked.append(key)
        status, body = answers.get(key, (500, b""))
        return httpx.Response(status, content=body, headers={"Content-Type": "application/xml"})

    users = {"admin": SpectraUser("admin", "YWRtaW4=", "s1", "A_KEY"),
             "user": SpectraUser("user", "dXNlcg==", "s2", "U_KEY", **user)}
    settings = SpectraTarget(BASE, True, 5.0, 1 << 20, users)
    return SpectraClient(HttpClient(BASE, transport=httpx.MockTransport(handler)), settings, Names("t0k3n"))


def test_the_target_files_user_id_is_used_as_given_and_nothing_is_asked():
    asked: list[tuple[str, str]] = []
    found = find_user_id(client({}, asked, user_id="given-1"), "user")
    assert (found.user_id, found.way, asked) == ("given-1", "user_id in [spectra.users.user]", [])


def test_a_name_is_looked_up_first_then_the_access_id():
    asked: list[tuple[str, str]] = []
    answers = {("dXNlcg==", "/_rest_/user/jo"): (200, b"<Data><Id>u-1</Id><Name>jo</Name></Data>")}
    found = find_user_id(client(answers, asked, name="jo"), "user")
    assert (found.user_id, found.way, asked) == ("u-1", "GET /_rest_/user/{name}", [("dXNlcg==", "/_rest_/user/jo")])
    answers = {("dXNlcg==", "/_rest_/user/dXNlcg=="): (200, b"<Data><Id>u-1</Id></Data>")}
    assert find_user_id(client(answers, []), "user").way == "GET /_rest_/user/{access id}"


def test_blackpearl_the_access_id_answers_404_and_the_list_names_the_user_by_auth_id():
    asked: list[tuple[str, str]] = []
    answers = {("dXNlcg==", "/_rest_/user/dXNlcg=="): NOT_FOUND, ("dXNlcg==", "/_rest_/user"): (403, b""),
               ("YWRtaW4=", "/_rest_/user"): LIST}
    found = find_user_id(client(answers, asked), "user")
    assert (found.user_id, found.way) == ("u-1", "GET /_rest_/user, AuthId dXNlcg==")
    # the user may not list users: the administrator asks
    assert asked == [("dXNlcg==", "/_rest_/user/dXNlcg=="), ("dXNlcg==", "/_rest_/user"), ("YWRtaW4=", "/_rest_/user")]


@pytest.mark.parametrize(("name", "listed", "expected"), [
    (None, (403, b""), "finding the Id of [spectra.users.user]: GET /_rest_/user/dXNlcg== answered 404 (NotFound: "
                       "no user); GET /_rest_/user answered 403 (empty); set [spectra.users.user] user_id (or name)"),
    ("jo", LIST[:1] + (b"<Data><User><AuthId>other</AuthId><Id>x</Id></User></Data>",),
     "finding the Id of [spectra.users.user]: GET /_rest_/user/jo answered 404 (NotFound: no user); GET "
     "/_rest_/user/dXNlcg== answered 404 (NotFound: no user); GET /_rest_/user answered 200: no user whose AuthId "
     "is dXNlcg==; set [spectra.users.user] user_id"),
])
def test_every_way_failing_is_one_line_naming_each_answer_and_the_key(name, listed, expected):
    answers = {("dXNlcg==", "/_rest_/user/dXNlcg=="): NOT_FOUND, ("dXNlcg==", "/_rest_/user/jo"): NOT_FOUND,
               ("dXNlcg==", "/_rest_/user"): listed, ("YWRtaW4=", "/_rest_/user"): listed}
    with pytest.raises(UserIdNotFound) as caught:
        find_user_id(client(answers, [], **({"name": name} if name else {})), "user")
    assert str(caught.value) == expected

