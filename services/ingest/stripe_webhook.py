"""Stripe webhook signatures, verified with Stripe's own library.

Stripe signs ``"<timestamp>.<raw body>"`` with HMAC-SHA256 and the endpoint's signing secret and
sends ``Stripe-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>...]`` (two v1 values while a secret is
being rolled). ``stripe.WebhookSignature.verify_header`` checks every v1 value in constant time
(``hmac.compare_digest``) and refuses a timestamp older than the tolerance, so a captured
delivery cannot be replayed later. Verification runs on the raw bytes, before any parsing.
"""

from __future__ import annotations

import stripe

from .errors import BadSignature

SIGNATURE_HEADER = "stripe-signature"


def verify(payload: bytes, header: str | None, secret: str, tolerance_s: int) -> None:
    """Raise ``BadSignature`` (400) unless Stripe signed ``payload`` with ``secret`` within the
    last ``tolerance_s`` seconds."""
    if not header:
        raise BadSignature("no Stripe-Signature header: only Stripe's signed deliveries are taken")
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance_s)
    except stripe.SignatureVerificationError as err:
        raise BadSignature(
            f"the Stripe signature does not verify ({err.user_message or err}); check "
            "VITALS_STRIPE_WEBHOOK_SECRET is this endpoint's signing secret"
        ) from None
    except UnicodeDecodeError:
        raise BadSignature("the body is not UTF-8, so not Stripe's") from None
