"""The code base's architecture rules hold with the organise blueprints registered."""

from __future__ import annotations

import pytest

from tests import test_architecture as rules

EXTRA_ARGS = {"collection_id": 1, "name": "cat", "action": "rename"}


@pytest.fixture(autouse=True)
def sample_args(monkeypatch) -> None:
    monkeypatch.setattr(rules, "SAMPLE_ARGS", {**rules.SAMPLE_ARGS, **EXTRA_ARGS})


def test_endpoints_refuse_anonymous_visitors(app, make_user) -> None:
    rules.test_every_non_public_endpoint_refuses_anonymous_visitors(app, make_user)


def test_gallery_endpoints_refuse_anonymous_while_private(app, make_user) -> None:
    rules.test_gallery_endpoints_refuse_anonymous_while_gallery_is_private(app, make_user)


def test_admin_endpoints_and_converters(app) -> None:
    rules.test_admin_endpoints_are_marked(app)
    rules.test_every_url_variable_has_a_converter(app)
    rules.test_public_endpoints_are_few_and_known(app)
