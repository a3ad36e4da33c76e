from __future__ import annotations

from vitals.notifier.destinations import Destination, RoutingFilter
from vitals.notifier.routing import matches, route

from .support import make_alert


def test_empty_filter_matches_everything() -> None:
    assert matches(RoutingFilter(), make_alert(owner=None, segment=None, severity="info"))


def test_min_severity_is_inclusive() -> None:
    warning = RoutingFilter(min_severity="warning")
    assert not matches(warning, make_alert(severity="info"))
    assert matches(warning, make_alert(severity="warning"))
    assert matches(warning, make_alert(severity="critical"))


def test_owner_segment_and_rule_filters_all_apply() -> None:
    f = RoutingFilter(owners=["dana", "lee"], segments=["enterprise"], rules=["gone_quiet"])
    assert matches(f, make_alert(owner="lee"))
    assert not matches(f, make_alert(owner="kim"))
    assert not matches(f, make_alert(owner=None))  # unowned never reaches a CSM's own channel
    assert not matches(f, make_alert(segment="smb"))
    assert not matches(f, make_alert(rule="payment_failed"))


def test_route_skips_disabled_destinations_and_keeps_order() -> None:
    dests = [
        Destination.model_validate({"id": i, "kind": "slack", "url": "https://h/x", "enabled": on})
        for i, on in (("b", True), ("a", False), ("c", True))
    ]
    assert [d.id for d in route(make_alert(), dests)] == ["b", "c"]
