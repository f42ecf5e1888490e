"""No page or API read shows a patient without naming them in the access log (issue 13, item 12).

Every URL of the site (tests/security/site.py `pages()`, the API's GET routes included) is
requested with GET by A's alliance office, clinic and lab, its parameters filled with A's
objects. Whenever an answer carries the name of one of A's patients, the request must have
written an access-log row naming that patient (a record opened, a list shown, a file, a
print). A new view is walked without anyone adding it here, so it cannot forget the log: the
row comes from the base classes (alliance.views.AuditedMixin, RestrictedViewSetMixin, the
`*_for_user` selectors), and a view outside them fails this walk.
"""

from __future__ import annotations

import pytest
from django.test import Client

from alliance.models import AccessLog, Patient

from . import site
from .world import PATIENT_NAMES, World

PAGES = site.pages()
PERSONAS = ("A.office", "A.clinic", "A.lab")

# Pages that show a patient's name without being a view of their data, each with the reason.
NOT_A_VIEW: dict[str, str] = {
    "notifications/": "the user's own inbox: a message's title may name the patient it is about",
}


def client_for(world: World, key: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world.user(key))
    return client


def text_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_answer_that_names_a_patient_is_in_the_access_log(world_db, persona):
    patients = dict(Patient.objects.filter(name__in=PATIENT_NAMES["A"]).values_list("name", "pk"))
    client = client_for(world_db, persona)
    unlogged, walked = [], 0
    for page in PAGES:
        if page.route in NOT_A_VIEW:
            continue
        try:
            url = site.page_url(page, world_db, "A")
        except site.Unmapped:
            continue  # test_bureau_urls.py fails for it
        since = AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = client.get(url)
        if response.status_code != 200:
            continue
        walked += 1
        shown = {pk for name, pk in patients.items() if name in text_of(response)}
        if not shown:
            continue
        named = {
            pk
            for ids in AccessLog.objects.filter(pk__gt=since).values_list("patient_ids", flat=True)
            for pk in ids
        }
        if not shown <= named:
            unlogged.append(f"{page.route} ({url}): shows {sorted(shown - named)}")
    assert walked > 20
    assert not unlogged, "answers that show patients but name them in no access-log row:\n" + (
        "\n".join(unlogged)
    )
