import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alliance.validators import (
    gender_from_id_number,
    mask_id_number,
    mask_phone,
    validate_id_number,
    validate_institution_code,
    validate_phone,
)
from tests.kit.factories import valid_id_number, valid_uscc


class TestInstitutionCode:
    def test_a_credit_code_with_a_wrong_check_digit_is_refused(self):
        code = valid_uscc(7)
        wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
        with pytest.raises(ValidationError) as error:
            validate_institution_code(wrong)
        assert error.value.code == "invalid_uscc"

    def test_a_credit_code_with_letters_not_in_the_alphabet_is_refused(self):
        code = valid_uscc(7)
        with pytest.raises(ValidationError):
            validate_institution_code(code[:10] + "I" + code[11:])

    @pytest.mark.parametrize("code", ["", "a", "lower-case", "HAS SPACE", "X" * 33, "-LEADING"])
    def test_malformed_internal_codes_are_refused(self, code):
        with pytest.raises(ValidationError):
            validate_institution_code(code)

    def test_a_valid_credit_code_and_an_internal_code_pass(self):
        validate_institution_code(valid_uscc(7))
        validate_institution_code("NC-01")


class TestIdNumber:
    def test_a_wrong_check_digit_is_refused_with_its_own_message(self):
        number = valid_id_number(3)
        wrong = number[:-1] + ("1" if number[-1] != "1" else "2")
        with pytest.raises(ValidationError) as error:
            validate_id_number(wrong)
        assert error.value.code == "invalid_checksum"

    @pytest.mark.parametrize(
        "number",
        ["", "31011519600517", "31011519601317001X", "990115196005170011", "A10115196005170011"],
    )
    def test_malformed_numbers_are_refused(self, number):
        with pytest.raises(ValidationError):
            validate_id_number(number)

    def test_a_birth_date_in_the_future_is_refused(self):
        from stdnum.cn import ric

        future = timezone.localdate() + datetime.timedelta(days=400)
        body = f"310115{future:%Y%m%d}001"
        with pytest.raises(ValidationError) as error:
            validate_id_number(body + ric.calc_check_digit(body + "0"))
        assert error.value.code == "future_birth"

    def test_a_valid_number_passes_in_either_case_of_x(self):
        number = next(valid_id_number(n) for n in range(200) if valid_id_number(n).endswith("X"))
        validate_id_number(number)
        validate_id_number(number.lower())

    def test_gender_comes_from_the_seventeenth_digit(self):
        assert gender_from_id_number(valid_id_number(1, male=True)) == "male"
        assert gender_from_id_number(valid_id_number(1, male=False)) == "female"


def test_identity_numbers_are_masked_to_region_and_last_four():
    assert mask_id_number("31011519600517123X") == "310115********123X"
    assert mask_id_number("") == ""


def test_phones_are_masked_in_the_middle():
    assert mask_phone("13912345678") == "139****5678"
    assert mask_phone("021-38297001") == "021*****7001"
    assert mask_phone("") == ""


@pytest.mark.parametrize("phone", ["1391234567", "23912345678", "phone", "021-123"])
def test_malformed_phones_are_refused(phone):
    with pytest.raises(ValidationError):
        validate_phone(phone)


@pytest.mark.parametrize("phone", ["13912345678", "021-38297001", "0580-5080000", "02138297001"])
def test_mobile_and_landline_numbers_pass(phone):
    validate_phone(phone)
