"""Pure logic of the reference app's client route: body parsing and Basic credentials."""

from __future__ import annotations

import base64
import json

import pytest

from app.escalafin_app import auth, clients

pytestmark = pytest.mark.unit


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_valid_client_is_trimmed_and_email_optional() -> None:
    new = clients.parse_new_client(body(firstName=" Ana ", lastName="Ruiz", phone="+52 55 1"))
    assert new == clients.NewClient("Ana", "Ruiz", "+52 55 1", None)
    with_email = clients.parse_new_client(
        body(firstName="A", lastName="B", phone="1", email="a@b.mx")
    )
    assert with_email.email == "a@b.mx"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "JSON object"),
        (b"[1]", "JSON object"),
        (b"{not json", "JSON object"),
        (b"\xff", "JSON object"),
        (body(lastName="B", phone="1"), "firstName is required"),
        (body(firstName="  ", lastName="B", phone="1"), "firstName is required"),
        (body(firstName="A", lastName=7, phone="1"), "lastName is required"),
        (body(firstName="A", lastName="B", phone="1", email="nope"), "email must look like"),
        (body(firstName="A" * 201, lastName="B", phone="1"), "longer than 200"),
    ],
)
def test_invalid_client_names_the_field(raw: bytes, says: str) -> None:
    with pytest.raises(clients.InvalidClient, match=says):
        clients.parse_new_client(raw)


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_basic_credentials_parse() -> None:
    assert auth.parse_basic(basic("admin@escalafin.com:p:w")) == ("admin@escalafin.com", "p:w")
    assert auth.parse_basic("basic " + basic("a:b").split()[1]) == ("a", "b")


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer abc", "Basic", "Basic !!!", basic("no-colon"), basic(":pw"), basic("a:")],
)
def test_anything_else_is_no_credentials(header: str | None) -> None:
    assert auth.parse_basic(header) is None
