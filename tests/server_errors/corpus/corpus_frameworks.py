"""A Flask app and a Django site for the server-error corpus (no database)."""

from __future__ import annotations

import django
from django.conf import settings
from flask import Flask

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="corpus",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["testserver"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        LOGGING_CONFIG=None,
    )
    django.setup()

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path


def django_boom(request: HttpRequest) -> JsonResponse:
    # expect: test_leaks.py::test_django_client exception
    # expect: test_leaks.py::test_django_async_client exception
    raise ValueError("cannot parse the order")


def django_missing(request: HttpRequest) -> JsonResponse:
    raise Http404("no such order")


urlpatterns = [path("orders/boom", django_boom), path("orders/missing", django_missing)]


flask_app = Flask(__name__)


class BadCoupon(Exception):
    pass


@flask_app.errorhandler(BadCoupon)
def bad_coupon(exc: BadCoupon) -> tuple[dict[str, str], int]:
    return {"detail": "bad coupon"}, 400  # handled on purpose


@flask_app.get("/cart")
def cart() -> dict[str, int]:
    # expect: test_leaks.py::test_flask_client exception
    return {"total": 10 // 0}


@flask_app.get("/coupon")
def coupon() -> dict[str, str]:
    raise BadCoupon("EXPIRED")
