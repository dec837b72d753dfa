"""Signing in over real HTTP, as the sign-in form does: the tests' one way."""

from __future__ import annotations

from fastapi.testclient import TestClient

from html_tree import html


def sign_in(client: TestClient, email: str, password: str, next_path: str = "/"):
    """Post the sign-in form with its CSRF token; the response, for the caller to check."""
    token = html(client.get("/login")).one("form", id="login").one("input", name="csrf").attrs["value"]
    return client.post("/login", data={"csrf": token, "email": email, "password": password, "next": next_path})


def signed_in(app, email: str, password: str, next_path: str = "/me") -> TestClient:
    """A client signed in as ``email`` (the sign-in must succeed)."""
    client = TestClient(app, follow_redirects=False)
    answer = sign_in(client, email, password, next_path)
    assert answer.status_code == 303, answer.text
    return client
