"""智能客服 answers, from the demo city's guides: materials for a situation after asking the
guide's own questions, fees from fees.description, memory across turns, declining what no
guide says, 我的办件 for the asker only, and what is stored."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.utils import timezone

from tongban.assistant import services
from tongban.assistant.answers import Action, Asks, Option, Source
from tongban.assistant.errors import (
    AssistantAnswerInvalid,
    AssistantConversationNotFound,
    AssistantQuestionEmpty,
    AssistantQuestionTooLong,
    AssistantThrottled,
)
from tongban.assistant.intents import read
from tongban.assistant.models import Conversation, Turn
from tongban.assistant.selectors import conversation_for
from tongban.common.models import AuditEvent

SESSION = "session-a"
ITEM = "/items/SH-GA-0101/"


class Chat:
    """One person's conversation, asked through the service as the page and the API do."""

    def __init__(self, user, session_key: str = SESSION):
        self.user, self.session_key, self.id = user, session_key, None

    def ask(self, question: str = "", answer_to: str = "", **kwargs):
        asked = services.assistant_ask(
            user=self.user,
            session_key=self.session_key,
            question=question,
            conversation_id=self.id,
            answer_to=answer_to,
            **kwargs,
        )
        self.id = asked.conversation.pk
        return asked.answer


def texts(answer) -> list[str]:
    return [s.text for s in answer.sentences]


def test_materials_of_birth_registration_ask_the_guides_question_then_list_exactly(visitor, demo):
    chat = Chat(visitor)
    first = chat.ask("出生登记要带什么材料？")
    assert first.kind == "ask"
    assert (first.target.kind, first.target.code, first.target.name) == (
        "item",
        "SH-GA-0101",
        "出生登记",
    )
    assert first.asks == Asks(
        "新生儿父母的婚姻状况？",
        [Option("married", "已登记结婚"), Option("unmarried", "未登记结婚")],
    )
    second = chat.ask(answer_to="married")
    assert second.asks == Asks(
        "新生儿户口随父亲还是随母亲申报？",
        [Option("father", "随父亲"), Option("mother", "随母亲")],
    )
    # A typed answer naming one option counts as choosing it.
    final = chat.ask("随父亲")
    assert final.kind == "answer"
    url = f"{ITEM}?answered=1&parents_marital=married&hukou_follows=father#guide"
    assert texts(final) == [
        "根据您的回答（新生儿父母的婚姻状况：已登记结婚；新生儿户口随父亲还是随母亲申报：随父亲）：",
        "办理「出生登记」需要以下5份材料：",
        "1. 出生医学证明（原件 1份）：可免提交：通过电子证照『出生医学证明』核验"
        "（本市助产机构签发的电子出生医学证明）。",
        "2. 居民户口簿（原件 1份）：可免提交：通过电子证照『居民户口簿』核验；"
        "可免提交：由公安人口库核验（本市户籍信息自动核验）。",
        "3. 母亲居民身份证（原件 1份）：可免提交：通过电子证照『母亲居民身份证』核验；"
        "可免提交：由公安人口库核验（按母亲公民身份号码核验）。",
        "4. 父亲居民身份证（原件 1份）：可免提交：通过电子证照『父亲居民身份证』核验；"
        "可免提交：由公安人口库核验（按父亲公民身份号码核验）。",
        "5. 结婚证（原件 1份）：可免提交：通过电子证照『结婚证』核验；"
        "可免提交：由民政婚姻登记库核验。",
    ]
    assert final.sentences[0].source == Source("situations", "办理情形", url)
    assert {s.source for s in final.sentences[1:]} == {
        Source("materials", "申请材料（按您的情况）", url)
    }
    assert final.actions == [
        Action("查看办事指南", url),
        Action("在线办理", "/apply/item/SH-GA-0101/?parents_marital=married&hukou_follows=father"),
    ]


def test_another_situation_gives_another_list(visitor, demo):
    chat = Chat(visitor)
    chat.ask("出生登记需要什么材料")
    chat.ask(answer_to="unmarried")
    final = chat.ask(answer_to="father")
    names = [t.split("（")[0] for t in texts(final)[2:]]
    assert names == [
        "1. 出生医学证明",
        "2. 居民户口簿",
        "3. 母亲居民身份证",
        "4. 非婚生育情况说明",
        "5. 亲子鉴定证明",
    ]
    assert texts(final)[6] == "5. 亲子鉴定证明（原件 1份）。"


def test_a_fee_question_answers_with_the_guides_fee_sentence(visitor, demo):
    free = Chat(visitor).ask("出生登记要多少钱")
    assert texts(free) == ["「出生登记」不收费。"]
    assert free.sentences[0].source == Source("fees.description", "收费", f"{ITEM}#basics-title")
    paid = Chat(visitor, "session-b").ask("少儿住院互助基金参保收费吗")
    assert texts(paid) == [
        "「少儿住院互助基金参保」的收费标准：按年度缴纳互助金，示例标准：每人每年100元。"
    ]
    assert paid.sentences[0].source.url == "/items/SH-HSH-0101/#basics-title"


def test_the_conversation_remembers_what_it_is_about(visitor, demo):
    chat = Chat(visitor)
    time_answer = chat.ask("出生登记多久能办好")
    assert texts(time_answer) == ["「出生登记」承诺3个工作日内办结（法定时限20个工作日）。"]
    fee = chat.ask("那要多少钱？")
    assert texts(fee) == ["「出生登记」不收费。"]
    place = chat.ask("在哪里办？网上能办吗")
    assert texts(place) == [
        "办理渠道：网上办理、移动端办理、窗口办理。",
        "办理地点：随迁一方户口所在地公安派出所户籍窗口（示例）。",
        "最多跑动0次。",
    ]
    conversation = Conversation.objects.get(pk=chat.id)
    assert (conversation.target_kind, conversation.target_code, conversation.turn_count) == (
        "item",
        "SH-GA-0101",
        6,
    )
    assert list(conversation.turns.order_by("seq").values_list("role", "kind")) == [
        ("resident", ""),
        ("assistant", "answer"),
        ("resident", ""),
        ("assistant", "answer"),
        ("resident", ""),
        ("assistant", "answer"),
    ]


def test_what_no_guide_says_is_declined_with_a_person_and_12345(visitor, demo):
    chat = Chat(visitor)
    chat.ask("出生登记要多少钱")
    answer = chat.ask("办护照多少钱")
    assert answer.kind == "decline"
    assert texts(answer) == [
        "抱歉，办事指南和政策中没有关于“护照”的内容，我不能凭空回答。",
        "您可以转人工客服，对话记录会一并转给工作人员。",
        "您也可以拨打 12345 政务服务便民热线咨询。",
    ]
    assert all(s.source is None for s in answer.sentences)
    assert answer.actions == [Action("转人工客服", f"/assistant/{chat.id}/handoff/", "post")]
    # The talk moved on: 那要多少钱？ is not answered for 出生登记 any more.
    assert chat.ask("那要多少钱？").kind == "clarify"


def test_a_question_about_something_the_guide_does_not_say_points_to_the_guide(visitor, demo):
    answer = Chat(visitor).ask("出生登记可以代办吗")
    assert answer.kind == "decline"
    assert texts(answer)[0] == "抱歉，办事指南和政策中没有关于“代办”的内容，我不能凭空回答。"
    assert answer.actions[1:] == [Action("看看「出生登记」", ITEM)]


def test_a_bundle_asks_which_item_for_its_process_and_a_policy_answers_from_its_definition(
    visitor, demo
):
    chat = Chat(visitor)
    overview = chat.ask("出生一件事")
    assert overview.target.code == "birth"
    assert overview.sentences[1].source == Source(
        "items", "包含事项", "/bundles/birth/#about-title"
    )
    ask = chat.ask("流程是什么")
    assert ask.kind == "ask"
    assert ask.asks.question == "「出生一件事」包含多个事项，您想了解哪个事项的办理流程？"
    assert ask.asks.options[2] == Option("SH-GA-0101", "出生登记")
    steps = chat.ask(answer_to="SH-GA-0101")
    assert texts(steps)[0] == (
        "第1步，网上申报：监护人在线填报新生儿及父母信息，出生医学证明等材料自动调取。"
    )
    assert steps.sentences[0].source == Source("process", "办理流程", f"{ITEM}#process-title")

    which = Chat(visitor, "session-p").ask("老年综合津贴有什么条件")
    assert [o.value for o in which.asks.options] == [
        "SH-MZJ-P001",
        "SH-MZJ-P002",
        "SH-MZJ-P003",
        "SH-MZJ-P004",
    ]
    policy = Chat(visitor, "session-q").ask("老年综合津贴（65至69周岁）要什么条件")
    assert policy.target.kind == "policy"
    assert texts(policy) == [
        "享受条件（同时满足）：年满65周岁；未满70周岁；本市户籍。",
        "享受方式：免申即享。",
    ]
    assert [s.source for s in policy.sentences] == [
        Source("eligibility", "享受条件", "/policies/SH-MZJ-P001/#conditions-title"),
        Source("mode", "怎样享受", "/policies/SH-MZJ-P001/#how-title"),
    ]
    assert policy.actions == [Action("查看政策详情", "/policies/SH-MZJ-P001/")]


def test_my_cases_answers_only_the_askers_cases(resident, other_resident, visitor):
    from tongban.assistant.tests.cases import birth_case

    mine = birth_case(resident, key="mine")
    theirs = birth_case(other_resident, key="theirs")
    answer = Chat(resident.user).ask("我的出生登记办到哪了")
    assert answer.kind == "cases"
    from tongban.cases.receipt import receipt_display

    assert texts(answer) == [
        f"您的「出生一件事」（受理编号 {receipt_display(mine.receipt_no)}）：已提交，待受理。",
    ]
    assert answer.sentences[0].source == Source("case", "我的办件", f"/me/cases/{mine.receipt_no}/")
    everything = json.dumps(answer.as_dict(), ensure_ascii=False)
    assert theirs.receipt_no not in everything
    assert receipt_display(theirs.receipt_no) not in everything
    # A visitor is asked to log in and told nothing.
    login = Chat(visitor).ask("我的出生登记办到哪了")
    assert login.kind == "login"
    assert mine.receipt_no not in json.dumps(login.as_dict(), ensure_ascii=False)


def test_someone_elses_conversation_does_not_exist_and_nothing_is_added(resident, visitor):
    chat = Chat(visitor)
    chat.ask("出生登记要多少钱")
    for user, key in ((visitor, "session-other"), (resident.user, SESSION), (visitor, "")):
        with pytest.raises(AssistantConversationNotFound):
            services.assistant_ask(
                user=user, session_key=key, question="那要多久", conversation_id=chat.id
            )
        with pytest.raises(AssistantConversationNotFound):
            conversation_for(user=user, session_key=key, conversation_id=chat.id)
    assert Turn.objects.filter(conversation_id=chat.id).count() == 2


def test_bad_input_is_refused_and_nothing_is_stored(visitor, demo):
    with pytest.raises(AssistantQuestionEmpty):
        Chat(visitor).ask("   ")
    with pytest.raises(AssistantQuestionTooLong):
        Chat(visitor).ask("问" * 201)
    with pytest.raises(AssistantAnswerInvalid):
        Chat(visitor).ask("出生登记", answer_to="married")
    chat = Chat(visitor)
    chat.ask("出生登记要带什么材料")
    with pytest.raises(AssistantAnswerInvalid):
        chat.ask(answer_to="divorced")
    assert Conversation.objects.count() == 1
    assert Turn.objects.count() == 2


def test_the_same_client_key_is_answered_once(visitor, demo):
    chat = Chat(visitor)
    first = chat.ask("出生登记要多少钱", client_key="k1")
    again = chat.ask("出生登记要多少钱", client_key="k1")
    assert again == first
    assert Turn.objects.filter(conversation_id=chat.id).count() == 2


def test_asking_too_often_is_throttled(visitor, demo, monkeypatch):
    monkeypatch.setattr(services, "THROTTLE_ASKS", 2)
    chat = Chat(visitor)
    chat.ask("出生登记要多少钱")
    chat.ask("多久")
    with pytest.raises(AssistantThrottled) as caught:
        chat.ask("在哪办")
    assert caught.value.code == "ASSISTANT_THROTTLED"
    assert 1 <= caught.value.retry_after_seconds <= 60
    assert Turn.objects.count() == 4
    # Another person is not slowed by it.
    Chat(visitor, "session-b").ask("出生登记要多少钱")


def test_questions_are_stored_encrypted_and_the_audit_names_codes_only(resident):
    chat = Chat(resident.user)
    chat.ask("出生登记要多少钱，我叫张三")
    with connection.cursor() as cursor:
        cursor.execute("SELECT text, answer FROM assistant_turn")
        stored = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert "张三" not in stored and "不收费" not in stored
    assert Turn.objects.get(seq=1).text == "出生登记要多少钱，我叫张三"
    audit = AuditEvent.objects.get(action="assistant.started")
    assert (audit.actor_id, audit.object_id) == (resident.user.pk, str(chat.id))
    assert audit.data == {"kind": "answer", "aspect": "fee", "target": "SH-GA-0101"}


def test_the_sweep_purges_old_conversations_visitors_first(resident, visitor):
    now = timezone.now()
    Chat(visitor).ask("出生登记要多少钱")
    Chat(resident.user).ask("出生登记要多少钱")
    Conversation.objects.update(updated_at=now - dt.timedelta(days=31))
    assert services.maintenance_sweep(now, now.date()) == {"purged": 1}
    assert list(Conversation.objects.values_list("owner_id", flat=True)) == [resident.user.pk]
    assert Turn.objects.count() == 2
    assert AuditEvent.objects.filter(action="assistant.purged").count() == 1
    assert services.maintenance_sweep(now, now.date()) == {"purged": 0}
    from tongban.cases.schedule import _registered_sweeps

    assert _registered_sweeps["assistant"] is services.maintenance_sweep


def test_what_the_askers_record_answers_is_not_asked_but_said(resident):
    chat = Chat(resident.user)
    first = chat.ask("老年人优待卡要带什么材料")
    assert first.asks.question == "由谁提出申请？"
    final = chat.ask(answer_to="self")
    assert final.kind == "answer"
    assert texts(final)[0] == "已根据您的居民档案确定：本市户籍"
    assert final.sentences[0].source == Source(
        "situations", "办理情形", "/items/SH-MZJ-0303/#guide"
    )
    assert texts(final)[3] == "其中2份平台已掌握，您无需提交（各项注明了依据），其余1份请您准备。"
    assert [t.split("（")[0] for t in texts(final)[4:]] == [
        "1. 申请人居民身份证",
        "2. 居民户口簿",
        "3. 近期免冠彩色证件照片",
    ]


def test_a_logged_in_person_is_told_which_materials_they_are_spared(resident):
    chat = Chat(resident.user)
    chat.ask("出生登记要带什么材料？")
    chat.ask(answer_to="married")
    final = chat.ask(answer_to="father")
    # The same list as a visitor's (the test above), run for this person as the guide page
    # runs it: their 一人一档 proves two of the five.
    assert texts(final)[1:3] == [
        "办理「出生登记」需要以下5份材料：",
        "其中2份平台已掌握，您无需提交（各项注明了依据），其余3份请您准备。",
    ]
    assert texts(final)[4] == (
        "2. 居民户口簿（原件 1份）：您的居民档案中已有户籍所在区，由公安人口库核验，无需提交。"
    )
    assert texts(final)[7] == (
        "5. 结婚证（原件 1份）：您的居民档案中已有婚姻状况，由民政婚姻登记库核验，无需提交。"
    )
    assert texts(final)[3].startswith("1. 出生医学证明（原件 1份）：可免提交：")


def test_a_policy_is_found_by_the_words_people_use_and_answers_how_much(visitor, demo):
    def ask(q):
        answer = Chat(visitor).ask(q)
        return answer.kind, answer.target.code if answer.target else None, texts(answer)

    # Parts of a lexicon phrase in order, with words between (生小孩 … 补贴).
    assert ask("生小孩有补贴吗") == (
        "answer",
        "SH-WJW-P001",
        [
            "「育儿补贴」待遇标准：每户每年 3600 元（按户内3周岁以下婴幼儿发放），"
            "按年发放至户主社会保障卡。",
            "享受方式：免申即享。",
        ],
    )
    kind, code, said = ask("低保能领多少")
    assert (kind, code) == ("answer", "SH-MZJ-P008")
    assert said[0].startswith("「最低生活保障（主动发现）」待遇标准：按家庭月人均收入与低保标准")
    # The longest word decides: 低保边缘 is not 低保.
    assert ask("低保边缘户的条件")[:2] == ("answer", "SH-MZJ-P009")
    assert ask("退伍军人春节有慰问金吗")[:2] == ("answer", "SH-TYJ-P002")
    # Words shared by several policies ask which.
    answer = Chat(visitor).ask("老人补贴每月多少钱")
    assert (answer.kind, answer.asks.question) == ("ask", "您问的是哪一项政策？")
    assert [o.value for o in answer.asks.options] == [
        "SH-MZJ-P001", "SH-MZJ-P002", "SH-MZJ-P003", "SH-MZJ-P004"
    ]  # fmt: skip
    # What the policy's service answers (its materials, its fee) stays the guide's.
    assert ask("敬老卡要多少钱") == ("answer", "SH-MZJ-0303", ["「老年人优待卡申领」不收费。"])
    # 研发费用 names what the credit is for; it does not ask a fee.
    kind, code, said = ask("研发费用加计扣除怎么享受")
    assert (kind, code) == ("answer", "SH-SWJ-P005")
    assert said[1:] == [
        "「研发费用税前加计扣除」待遇标准：研发费用按实际发生额的 100% 在税前加计扣除。",
        "享受条件（同时满足）：高新技术企业或科技类行业企业；企业（不含个体工商户）；登记状态为存续。",
        "享受方式：精准推送。",
    ]
    assert read("研发费用加计扣除要多少钱").aspects == ("fee",)


def test_how_much_of_a_service_or_a_life_event_is_told_from_its_policies(visitor, demo):
    chat = Chat(visitor)
    chat.ask("最低生活保障申请要带什么")
    answer = chat.ask("那能领多少")
    assert answer.target.code == "SH-MZJ-0101"
    assert texts(answer)[0].startswith("「最低生活保障（主动发现）」待遇标准：")
    assert answer.sentences[0].source == Source(
        "benefit", "待遇标准", "/policies/SH-MZJ-P008/#benefit-title"
    )
    bundle = Chat(visitor).ask("残疾人服务一件事有什么补贴")
    assert bundle.target.code == "disability_services"
    assert [s.source.url for s in bundle.sentences][:2] == [
        "/policies/SH-CL-P001/#benefit-title",
        "/policies/SH-CL-P002/#benefit-title",
    ]
    # Nothing to say is said plainly, not made up.
    none = Chat(visitor).ask("出生登记能领多少钱")
    assert texts(none) == ["「出生登记」的办事指南和相关政策中没有待遇标准的内容。"]
