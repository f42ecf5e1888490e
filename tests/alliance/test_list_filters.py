"""The institution directory filters like the institutions API (one FilterSet): the same
parameters give the same rows; an invalid one is a 400 naming the field in the API and a field
error over the unfiltered directory on the page."""

import pytest

from tests.sharedcenters.test_list_filters import (
    assert_refused_alike,
    assert_same_rows,
    page_rows,
)

INSTITUTIONS = ("/alliance/institutions/", "/api/v1/institutions/")


@pytest.mark.parametrize(
    "params",
    [{"kind": "community_center"}, {"q": "心内科"}, {"district": "pudong"}, {"tier": "primary"}],
)
def test_the_directory_and_the_api_filter_alike(api, clinic_doctor, world, params):
    if "district" in params:
        params = {"district": world["pudong"].pk}
    page = page_rows(clinic_doctor, INSTITUTIONS[0], params)

    assert page  # the filter finds something
    assert_same_rows(api, clinic_doctor, *INSTITUTIONS, params, page)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "bogus"}, "kind"),
        ({"district": "abc"}, "district"),
        ({"alliance": "1.5"}, "alliance"),
    ],
)
def test_an_invalid_directory_filter_is_refused_alike(api, clinic_doctor, world, params, field):
    listed = assert_refused_alike(api, clinic_doctor, *INSTITUTIONS, params, field)

    assert listed == page_rows(clinic_doctor, INSTITUTIONS[0], {})  # the unfiltered directory
