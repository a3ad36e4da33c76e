"""Generic webhook signatures, verified with the independent `standardwebhooks` package."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from vitals.notifier.destinations import generate_secret
from vitals.notifier.formats import webhook

from ..support import make_alert


def test_signature_verifies_with_standardwebhooks_and_body_is_the_alert() -> None:
    secret = generate_secret()
    alert = make_alert(customer_name="Ünïcode & Co")
    body = webhook.encode(webhook.render(alert))
    headers = webhook.signed_headers(secret, alert["alert_id"], int(time.time()), body)
    assert headers["webhook-id"] == alert["alert_id"]
    assert Webhook(secret).verify(body, headers) == alert


def test_tampered_body_or_wrong_secret_fails_verification() -> None:
    secret = generate_secret()
    body = webhook.encode({"alert_id": "a1"})
    headers = webhook.signed_headers(secret, "a1", int(time.time()), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"a1", b"a2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_known_vector_from_the_standard_webhooks_spec() -> None:
    # Test vector of the standard-webhooks reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    sig = webhook.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
