import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.accounts.validators import (
    InvalidCreditCode,
    InvalidIdNumber,
    make_credit_code,
    make_id_number,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_credit_code,
    parse_id_number,
)

# 31010419900307123X: 徐汇区, 1990-03-07, 顺序码 123 (odd: male), check character X.
VALID_ID = "31010419900307123X"


class TestIdNumber:
    def test_valid_number_gives_birth_date_sex_and_region(self):
        facts = parse_id_number(VALID_ID)
        assert facts.number == VALID_ID
        assert facts.region_code == "310104"
        assert facts.birth_date == dt.date(1990, 3, 7)
        assert facts.sex == "M"

    def test_even_sequence_is_female_and_lowercase_x_is_accepted(self):
        assert parse_id_number("310104199003071248").sex == "F"
        assert parse_id_number(" 31010419900307123x ").number == VALID_ID

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("310104199003071230", "身份证号码校验位不正确，请核对是否输错"),
            ("310104199002301234", "身份证号码中的出生日期19900230不是有效日期"),
            ("990104199003071234", "身份证号码的地区码990104不存在"),
            ("3101041990030712", "身份证号码应为18位，当前为16位"),
            ("3101041990030712345", "身份证号码应为18位，当前为19位"),
            ("", "身份证号码应为18位，当前为0位"),
            ("31010419900307A23X", "身份证号码前17位应为数字，最后一位为数字或X"),
            ("310104189912311234", "身份证号码中的出生日期1899-12-31不在合理范围内"),
        ],
    )
    def test_invalid_numbers_say_exactly_what_is_wrong(self, raw, message):
        with pytest.raises(InvalidIdNumber) as excinfo:
            parse_id_number(raw)
        assert excinfo.value.code == "INVALID_ID_NUMBER"
        assert excinfo.value.http_status == 422
        assert excinfo.value.message == message

    def test_birth_date_in_the_future_is_refused(self):
        with pytest.raises(InvalidIdNumber) as excinfo:
            parse_id_number(VALID_ID, today=dt.date(1990, 3, 6))
        assert excinfo.value.message == "身份证号码中的出生日期1990-03-07不在合理范围内"

    @given(
        birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2024, 12, 31)),
        seq=st.integers(min_value=0, max_value=999),
        region=st.sampled_from(["310104", "110105", "440305", "650102"]),
    )
    def test_generated_numbers_always_parse_back(self, birth, seq, region):
        number = make_id_number(region, birth, seq)
        facts = parse_id_number(number)
        assert (facts.region_code, facts.birth_date) == (region, birth)
        assert facts.sex == ("M" if seq % 2 else "F")

    def test_generator_refuses_nonsense(self):
        with pytest.raises(ValueError):
            make_id_number("3101", dt.date(1990, 1, 1), 1)
        with pytest.raises(ValueError):
            make_id_number("310104", dt.date(1990, 1, 1), 1000)


class TestCreditCode:
    # Published codes of real companies: independent of our own generator.
    @pytest.mark.parametrize(
        ("code", "region", "org"),
        [
            ("91330100799655058B", "330100", "799655058"),
            ("9144030071526726XG", "440300", "71526726X"),
        ],
    )
    def test_valid_codes(self, code, region, org):
        facts = parse_credit_code(code)
        assert (facts.code, facts.region_code, facts.organisation_code) == (code, region, org)
        assert (facts.registration_authority, facts.entity_type) == ("9", "1")

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("91330100799655058C", "统一社会信用代码校验位不正确，请核对是否输错"),
            (
                "91330100799655O58B",
                "统一社会信用代码含有不允许的字符：O（不使用I、O、S、V、Z）",
            ),
            (
                "9I330100799655058Z",
                "统一社会信用代码含有不允许的字符：I、Z（不使用I、O、S、V、Z）",
            ),
            (
                "913301007996550S8V",
                "统一社会信用代码含有不允许的字符：S、V（不使用I、O、S、V、Z）",
            ),
            # Organisation code check character changed (…057) and the final check recomputed,
            # so only the embedded GB 11714 code is wrong.
            ("913301007996550578", "统一社会信用代码第9至17位的组织机构代码校验不通过"),
            ("91990100799655058B", "统一社会信用代码第3至8位的登记管理机关行政区划码990100无效"),
            ("9133010079965505", "统一社会信用代码应为18位，当前为16位"),
        ],
    )
    def test_invalid_codes_say_exactly_what_is_wrong(self, raw, message):
        with pytest.raises(InvalidCreditCode) as excinfo:
            parse_credit_code(raw)
        assert excinfo.value.code == "INVALID_CREDIT_CODE"
        assert excinfo.value.message == message

    @given(seq=st.integers(min_value=0, max_value=99_999_999))
    def test_generated_codes_always_parse_back(self, seq):
        code = make_credit_code(region="310115", seq=seq)
        facts = parse_credit_code(code)
        assert (facts.region_code, facts.organisation_code[:8]) == ("310115", f"{seq:08d}")


def test_masks():
    assert mask_id_number("310104199003071234") == "310***********1234"
    assert mask_id_number(VALID_ID) == "310***********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三丰") == "张**"
    assert mask_address("上海市徐汇区示例路100弄1号") == "上海市徐汇区****"
    assert (mask_id_number(""), mask_phone(""), mask_address("")) == ("", "", "")
