"""The assistant's engine: retrieval and templates, no model.

Every sentence of an answer is either a fixed template sentence of this module (a greeting, a
refusal, an offer of a person) or is made from one field of a published definition — an item's
or a 一件事's guide, a policy — and carries that field as its source: the field's Chinese name
and a link to that section of the page that shows it. Materials for a person's situation come
from the guide's own computation (tongban.catalog.guide), after asking the guide's own
questions. Whatever no definition says is not answered: the assistant says so and offers a
person and the 12345 hotline.

Pure reads: the conversation's memory comes in as STATE and goes out changed; services.py
stores it.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from tongban.assistant.errors import AssistantAnswerInvalid
from tongban.assistant.intents import Reading, aspect_label
from tongban.catalog import guide
from tongban.catalog import selectors as catalog
from tongban.catalog.errors import BundleNotFound, GuideAnswersInvalid, ItemNotFound
from tongban.catalog.schemas import BundleDef, ServiceItemDef

HOTLINE_SENTENCE = "您也可以拨打 12345 政务服务便民热线咨询。"
LOGIN_URL = "/accounts/login/?next=/assistant/"
# Aspects a 一件事 answers as a whole; for the others the person picks one of its items.
BUNDLE_ASPECTS = ("materials", "fee", "time", "benefit")
MAX_CASES = 3


# ---------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Source:
    field: str  # the definition's field (materials, fees.description …)
    label: str  # its Chinese name as the guide page heads it
    url: str  # that section of the page


@dataclass(frozen=True)
class Sentence:
    text: str
    source: Source | None = None  # None only for this module's fixed template sentences


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Asks:
    question: str
    options: list[Option]
    help: str = ""


@dataclass(frozen=True)
class Action:
    label: str
    url: str
    method: str = "get"  # "post" for 转人工 (a form button, never a link)


@dataclass(frozen=True)
class Target:
    kind: str  # item, bundle or policy
    code: str
    name: str


@dataclass
class Answer:
    # answer, ask, decline, cases, login, greeting, clarify, handoff
    kind: str
    sentences: list[Sentence] = field(default_factory=list)
    asks: Asks | None = None
    actions: list[Action] = field(default_factory=list)
    target: Target | None = None
    aspect: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def cited(self) -> list[tuple[Sentence, bool]]:
        """Each sentence and whether the page shows its source after it: once at the end of a
        run of sentences from the same source (a list of materials cites its guide once)."""
        rows = self.sentences
        return [
            (s, s.source is not None and (n + 1 == len(rows) or rows[n + 1].source != s.source))
            for n, s in enumerate(rows)
        ]


def answer_from_dict(data: dict[str, Any]) -> Answer:
    asks = data.get("asks")
    target = data.get("target")
    return Answer(
        kind=data["kind"],
        sentences=[
            Sentence(s["text"], Source(**s["source"]) if s.get("source") else None)
            for s in data.get("sentences", [])
        ],
        asks=Asks(asks["question"], [Option(**o) for o in asks["options"]], asks.get("help", ""))
        if asks
        else None,
        actions=[Action(**a) for a in data.get("actions", [])],
        target=Target(**target) if target else None,
        aspect=data.get("aspect", ""),
    )


@dataclass
class State:
    """What a conversation remembers between turns."""

    target: Target | None = None
    answers: dict[str, str] = field(default_factory=dict)  # the guide's situations, answered
    pending: dict[str, Any] | None = None  # the ask-back waiting for an answer

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": asdict(self.target) if self.target else None,
            "answers": dict(self.answers),
            "pending": self.pending,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> State:
        data = data or {}
        target = data.get("target")
        return cls(
            target=Target(**target) if target else None,
            answers=dict(data.get("answers") or {}),
            pending=data.get("pending"),
        )

    def focus(self, target: Target) -> None:
        if self.target != target:
            self.target, self.answers = target, {}


@dataclass
class Context:
    user: Any  # the asker (anonymous for a visitor)
    handoff_url: str  # where 转人工 posts
    prefer: str | None = None

    @cached_property
    def applicant(self) -> Any:
        """The asker's 一人一档, whose facts answer some of the guide's questions (known_from),
        as on the guide page; None for a visitor."""
        if self.user is None or not self.user.is_authenticated:
            return None
        from tongban.accounts.selectors import resident_profile_of

        return resident_profile_of(self.user)


# ---------------------------------------------------------------- entry


def compose(*, reading: Reading, question: str, answer_to: str, state: State, ctx: Context):
    """The answer to QUESTION (or to the pending ask-back, with ANSWER_TO) given STATE, which
    is updated in place."""
    pending = state.pending
    if pending is not None:
        value = answer_to or _option_named(pending, question)
        if value:
            return _resume(pending, value, state, ctx)
        # Anything else typed is a new question: the ask-back is dropped.
    elif answer_to:
        raise AssistantAnswerInvalid("没有待回答的问题，请直接输入您的问题")
    state.pending = None
    if reading.handoff:
        return Answer(
            "handoff",
            [Sentence("好的，您可以点击下面的按钮转人工客服，对话记录会一并转给工作人员。")],
            actions=[_handoff(ctx)],
        )
    if "progress" in reading.aspects:
        return _my_cases(reading, state, ctx)
    policy = _policy_named(question)
    found = None
    if policy is not None and reading.subject and set(reading.aspects) - POLICY_ASPECTS:
        # 要带什么材料 of a service the catalog names is its guide's to answer, even where a
        # policy shares its name (老年人优待卡); the policy answers what it is and who qualifies.
        found = catalog.catalog_answer_target(q=reading.subject, prefer=ctx.prefer)
        if found is not None:
            policy = None
    if isinstance(policy, list):
        state.pending = {
            "type": "policy",
            "aspects": list(reading.aspects),
            "options": [{"value": c.code, "label": c.name} for c in policy],
        }
        return _ask("您问的是哪一项政策？", state.pending["options"], "", aspect="policy")
    if policy is not None:
        state.focus(Target("policy", policy.code, policy.name))
        return _policy_answer(policy, reading.aspects, state, ctx)
    if reading.subject:
        found = found or catalog.catalog_answer_target(q=reading.subject, prefer=ctx.prefer)
        if found is None:
            # The talk has moved to something no guide covers: 那要多少钱？ next must not
            # answer for the service before it.
            state.target, state.answers = None, {}
            return _decline(reading.subject, ctx)
        state.focus(Target(found.kind, found.code, found.name))
    elif not reading.aspects:
        return greeting()
    elif state.target is None:
        labels = "、".join(aspect_label(a) for a in reading.aspects)
        return Answer(
            "clarify",
            [
                Sentence(
                    f"您想了解哪项服务的{labels}？请告诉我事项名称，例如“出生登记要带什么材料”。"
                )
            ],
        )
    return _answer_target(state.target, reading.aspects, state, ctx)


def greeting() -> Answer:
    return Answer(
        "greeting",
        [
            Sentence(
                "您好，我是智能客服。请告诉我您要办的事，例如“出生登记要带什么材料”"
                "“上户口要多少钱”“我的出生登记办到哪了”。"
            ),
            Sentence("我只根据办事指南和政策回答；指南里没有的，我会如实告诉您，并帮您转人工。"),
        ],
    )


# ---------------------------------------------------------------- helpers


def _handoff(ctx: Context) -> Action:
    return Action("转人工客服", ctx.handoff_url, "post")


def _ask(question: str, options: list[dict], help_text: str, *, aspect: str) -> Answer:
    return Answer(
        "ask",
        asks=Asks(question, [Option(o["value"], o["label"]) for o in options], help_text),
        aspect=aspect,
    )


def _option_named(pending: dict[str, Any], text: str) -> str:
    """A typed answer that names one option (随父亲) counts as choosing it."""
    typed = re.sub(r"\s+", "", text or "")
    if not typed:
        return ""
    hits = [o["value"] for o in pending["options"] if o["label"] in typed or typed == o["label"]]
    return hits[0] if len(hits) == 1 else ""


def _resume(pending: dict[str, Any], value: str, state: State, ctx: Context) -> Answer:
    if value not in {o["value"] for o in pending["options"]}:
        raise AssistantAnswerInvalid()
    state.pending = None
    aspects = tuple(pending.get("aspects") or ())
    if pending["type"] == "situation":
        state.answers[pending["code"]] = value
        return _answer_target(state.target, aspects, state, ctx)
    if pending["type"] == "item":
        label = next(o["label"] for o in pending["options"] if o["value"] == value)
        state.focus(Target("item", value, label))
        return _answer_target(state.target, aspects, state, ctx)
    card = _policy_card(value)
    if card is None:
        raise AssistantAnswerInvalid("该政策已停止执行，请重新提问")
    state.focus(Target("policy", card.code, card.name))
    return _policy_answer(card, aspects, state, ctx)


def _answer_target(target: Target, aspects, state: State, ctx: Context) -> Answer:
    try:
        if target.kind == "bundle":
            return _bundle_answer(catalog.bundle_definition(target.code), aspects, state, ctx)
        if target.kind == "policy":
            card = _policy_card(target.code)
            if card is None:
                raise ItemNotFound()
            return _policy_answer(card, aspects, state, ctx)
        return _item_answer(catalog.item_definition(target.code), aspects, state, ctx)
    except (ItemNotFound, BundleNotFound):
        state.target, state.answers = None, {}
        return Answer(
            "decline",
            [
                Sentence("该事项已停止办理或已调整，请重新说说您要办的事。"),
                Sentence(HOTLINE_SENTENCE),
            ],
            actions=[_handoff(ctx)],
        )


def _query(answers: dict[str, str]) -> str:
    return urlencode(answers)


# ---------------------------------------------------------------- items


def _item_answer(d: ServiceItemDef, aspects, state: State, ctx: Context) -> Answer:
    base = f"/items/{d.code}/"
    basics = base + "#basics-title"
    sentences: list[Sentence] = []
    for aspect in aspects or ("overview",):
        if aspect == "materials":
            asked = _item_materials(d, state, sentences, aspects, ctx)
            if asked is not None:
                asked.sentences = sentences + asked.sentences
                asked.target = state.target
                return asked
        elif aspect == "fee":
            text = (
                f"「{d.name}」{d.fees.description}。"
                if d.fees.free
                else f"「{d.name}」的收费标准：{d.fees.description}。"
            )
            sentences.append(Sentence(text, Source("fees.description", "收费", basics)))
        elif aspect == "time":
            limit = d.time_limit
            src = Source("time_limit", "办理时限", basics)
            if d.handling == "instant":
                text = f"「{d.name}」是即办件，符合条件的当场办结。"
            else:
                text = f"「{d.name}」承诺{limit.promised_days}个工作日内办结"
                if limit.statutory_days:
                    text += f"（法定时限{limit.statutory_days}个工作日）"
                text += "。"
            sentences.append(Sentence(text, src))
        elif aspect == "place":
            channels = "、".join(guide.CHANNEL_LABELS[c] for c in d.channels)
            sentences += [
                Sentence(f"办理渠道：{channels}。", Source("channels", "办理渠道", basics)),
                Sentence(
                    f"办理地点：{d.place or '网上办理，无需到场'}。",
                    Source("place", "办理地点", basics),
                ),
                Sentence(f"最多跑动{d.visits}次。", Source("visits", "最多跑动次数", basics)),
            ]
        elif aspect == "conditions":
            src = Source("conditions", "受理条件", base + "#conditions-title")
            sentences.append(Sentence(f"办理「{d.name}」的受理条件：", src))
            sentences += [Sentence(f"{n}. {c}", src) for n, c in enumerate(d.conditions, 1)]
        elif aspect == "process":
            src = Source("process", "办理流程", base + "#process-title")
            for n, p in enumerate(d.process, 1):
                text = f"第{n}步，{p.step}" + (f"：{p.description}" if p.description else "")
                sentences.append(Sentence(text + "。", src))
        elif aspect == "benefit":
            # A service's guide states no amounts; the policies it is the way to do.
            sentences += _benefits_of(d.name, {d.code})
        elif aspect == "phone":
            sentences.append(
                Sentence(
                    f"「{d.name}」的咨询电话：{d.hotline or '12345'}。",
                    Source("hotline", "咨询电话", basics),
                )
            )
        else:
            if d.summary:
                sentences.append(Sentence(d.summary, Source("summary", "事项说明", base)))
            sentences.append(Sentence("您可以接着问：要带什么材料、要多少钱、多久办好、在哪里办。"))
    return Answer(
        "answer",
        sentences,
        actions=_item_actions(d, state.answers),
        target=state.target,
        aspect=",".join(aspects or ("overview",)),
    )


def _item_materials(d: ServiceItemDef, state: State, out: list[Sentence], aspects, ctx):
    """Append the item's materials to OUT; or return the ask-back when the guide's situations
    change the list and not all are answered."""
    base = f"/items/{d.code}/"
    src = Source("materials", "申请材料", base + "#materials-title")
    if not any(m.when for m in d.materials) and ctx.applicant is None:
        if not d.materials:
            out.append(Sentence(f"办理「{d.name}」无需提交材料。", src))
            return None
        out.append(Sentence(f"办理「{d.name}」需要以下{len(d.materials)}份材料：", src))
        for n, m in enumerate(d.materials, 1):
            waivers = [guide.waiver_text(w, m) for w in m.waivable_by]
            out.append(
                Sentence(_material_text(n, m.name, m.form, m.copies, m.required, waivers, ""), src)
            )
        return None
    asked = _next_question("item", d.code, state, aspects, ctx, out)
    if asked is not None:
        return asked
    return _guide_materials("item", d.code, d.name, state, out, ctx)


def _item_actions(d: ServiceItemDef, answers: dict[str, str]) -> list[Action]:
    query = _query(answers)
    guide_url = f"/items/{d.code}/" + (f"?answered=1&{query}#guide" if answers else "")
    actions = [Action("查看办事指南", guide_url)]
    if "online" in d.channels:
        actions.append(
            Action("在线办理", f"/apply/item/{d.code}/" + (f"?{query}" if query else ""))
        )
    booking = _booking_url(d)
    if booking:
        actions.append(Action("预约到厅办理", booking))
    return actions


def _benefits_of(name: str, items: set[str]) -> list[Sentence]:
    """待遇标准 of the policies that ITEMS are the way to; said plainly when there are none."""
    cards = [c for c in _policy_cards() if c.item in items]
    if not cards:
        return [Sentence(f"「{name}」的办事指南和相关政策中没有待遇标准的内容。")]
    return [
        Sentence(
            f"「{c.name}」待遇标准：{c.benefit}。",
            Source("benefit", "待遇标准", f"/policies/{c.code}/#benefit-title"),
        )
        for c in cards
    ]


def _booking_url(d: ServiceItemDef) -> str:
    # The same rule as the guide page's booking link (tongban.appointments).
    from tongban.appointments.selectors.booking import booking_url_for_item

    return booking_url_for_item(d)


def _material_text(n, name, form, copies, required, waivers, spared) -> str:
    text = f"{n}. {name}（{form}" + (f" {copies}份" if copies else "") + "）"
    if not required:
        text += "，非必需"
    if spared:
        text += f"：{spared}"
    elif waivers:
        text += "：" + "；".join(waivers)
    return text + "。"


def _next_question(kind: str, code: str, state: State, aspects, ctx: Context, out) -> Answer | None:
    """The guide's next question still to answer, as an ask-back; None when all are. What the
    asker's 一人一档 answers is not asked: the guide's own statement says so (into OUT)."""
    questions_for = guide.bundle_questions if kind == "bundle" else guide.item_questions
    questions = questions_for(code=code, answers=state.answers, applicant=ctx.applicant)
    url = f"/{'bundles' if kind == 'bundle' else 'items'}/{code}/#guide"
    for q in questions:
        if q.applies and q.known and q.code not in state.answers:
            state.answers[q.code] = q.answer
            out.append(Sentence(q.known, Source("situations", "办理情形", url)))
    # As on the guide page: a question the profile will answer once another is given (本人
    # 申请) comes after that one.
    for q in sorted(questions, key=lambda q: bool(q.known_if)):
        if q.applies and q.code not in state.answers:
            options = [{"value": o.value, "label": o.label} for o in q.options]
            state.pending = {
                "type": "situation",
                "code": q.code,
                "aspects": list(aspects),
                "options": options,
            }
            answer = _ask(q.question, options, q.help, aspect="materials")
            answer.sentences = [Sentence("材料清单要看您的情况，请先回答指南中的这个问题。")]
            return answer
    return None


def _guide_materials(kind: str, code: str, name: str, state: State, out: list[Sentence], ctx):
    """The guide's list for the answers given; for a logged-in person, run as the guide page
    runs it for them, so that what their 一人一档, their e-certificates and the data sources
    already prove is said to be spared (减材料), with the reason."""
    run = guide.guide_for_bundle if kind == "bundle" else guide.guide_for_item
    try:
        result = run(code=code, answers=state.answers, applicant=ctx.applicant)
    except GuideAnswersInvalid:
        # The definition changed under the conversation: its questions are asked again.
        state.answers = {}
        out.append(Sentence("办事指南已更新，请再问一次，我按新的指南重新问您几个问题。"))
        return None
    base = f"/{'bundles' if kind == 'bundle' else 'items'}/{code}/"
    url = f"{base}?answered=1&{_query(state.answers)}#guide"
    src = Source("materials", "申请材料（按您的情况）", url)
    labels = {q.code: {o.value: o.label for o in q.options} for q in result.questions}
    said = "；".join(
        f"{q.question.rstrip('？?')}：{labels[q.code].get(state.answers[q.code], '')}"
        for q in result.questions
        if q.applies and q.code in state.answers
    )
    if said:
        out.append(Sentence(f"根据您的回答（{said}）：", Source("situations", "办理情形", url)))
    if not result.materials:
        out.append(Sentence(f"办理「{name}」无需提交材料。", src))
        return None
    out.append(Sentence(f"办理「{name}」需要以下{len(result.materials)}份材料：", src))
    spared = sum(1 for m in result.materials if m.spared)
    rest = len(result.materials) - spared
    if spared and rest:
        out.append(
            Sentence(
                f"其中{spared}份平台已掌握，您无需提交（各项注明了依据），其余{rest}份请您准备。",
                src,
            )
        )
    elif spared:
        out.append(Sentence(f"这{spared}份材料平台均已掌握，您无需提交（各项注明了依据）。", src))
    for n, m in enumerate(result.materials, 1):
        out.append(
            Sentence(
                _material_text(
                    n, m.name, m.form, m.copies, m.required, [w.text for w in m.waivers],
                    m.spared_reason if m.spared else "",
                ),
                src,
            )
        )  # fmt: skip
    return None


# ---------------------------------------------------------------- bundles


def _bundle_answer(b: BundleDef, aspects, state: State, ctx: Context) -> Answer:
    base = f"/bundles/{b.code}/"
    about = base + "#about-title"
    sources = catalog.guide_sources(kind="bundle", code=b.code)
    names = {code: item.name for code, item in sources.items.items()}
    wanted = [a for a in aspects if a not in BUNDLE_ASPECTS]
    if wanted:
        options = [{"value": e.item, "label": names[e.item]} for e in b.items]
        state.pending = {"type": "item", "aspects": list(aspects), "options": options}
        labels = "、".join(aspect_label(a) for a in wanted)
        answer = _ask(
            f"「{b.name}」包含多个事项，您想了解哪个事项的{labels}？", options, "", aspect="item"
        )
        answer.target = state.target
        return answer
    sentences: list[Sentence] = []
    for aspect in aspects or ("overview",):
        if aspect == "materials":
            asked = _next_question("bundle", b.code, state, aspects, ctx, sentences)
            if asked is not None:
                asked.sentences = sentences + asked.sentences
                asked.target = state.target
                return asked
            _guide_materials("bundle", b.code, b.name, state, sentences, ctx)
        elif aspect == "benefit":
            sentences += _benefits_of(b.name, {e.item for e in b.items})
        elif aspect == "time":
            sentences.append(
                Sentence(
                    f"「{b.name}」承诺{b.promised_days}个工作日内办结。",
                    Source("promised_days", "承诺办结时限", about),
                )
            )
        elif aspect == "fee":
            charging = [i for i in sources.items.values() if not i.fees.free]
            if not charging:
                sentences.append(
                    Sentence(
                        f"「{b.name}」包含的事项均不收费。",
                        Source("fees.description", "收费（各事项办事指南）", about),
                    )
                )
            for i in charging:
                sentences.append(
                    Sentence(
                        f"「{b.name}」中，「{i.name}」的收费标准：{i.fees.description}。",
                        Source("fees.description", "收费", f"/items/{i.code}/#basics-title"),
                    )
                )
            if charging and len(charging) < len(sources.items):
                sentences.append(
                    Sentence(
                        "其余事项不收费。",
                        Source("fees.description", "收费（各事项办事指南）", about),
                    )
                )
        else:
            if b.summary:
                sentences.append(Sentence(b.summary, Source("summary", "一件事说明", base)))
            listed = "、".join(
                names[e.item] + ("（视您的情况办理）" if e.when else "") for e in b.items
            )
            sentences.append(
                Sentence(
                    f"「{b.name}」一次申请可办理：{listed}。", Source("items", "包含事项", about)
                )
            )
            sentences.append(
                Sentence("一张表单填报，材料一次提交。您可以接着问：要带什么材料、多久办好。")
            )
    query = _query(state.answers)
    actions = [
        Action("查看一件事指南", base + (f"?answered=1&{query}#guide" if state.answers else "")),
        Action("一表申请", f"/apply/bundle/{b.code}/" + (f"?{query}" if query else "")),
    ]
    return Answer(
        "answer", sentences, actions=actions, target=state.target,
        aspect=",".join(aspects or ("overview",)),
    )  # fmt: skip


# ---------------------------------------------------------------- policies


_policies: tuple[float, Any, list] = (0.0, None, [])


def _policy_cards():
    """The policies in force, re-read at most every TONGBAN_CATALOG_REFRESH_SECONDS (policies
    change only when the catalog is loaded): two queries saved on nearly every question."""
    global _policies
    from django.conf import settings
    from django.utils import timezone

    from tongban.policies.selectors import policy_cards

    now, today = time.monotonic(), timezone.localdate()
    checked, day, cards = _policies
    if day != today or now - checked >= settings.TONGBAN_CATALOG_REFRESH_SECONDS:
        cards = policy_cards(today=today)
        _policies = (now, today, cards)
    return cards


def _policy_card(code: str):
    return next((c for c in _policy_cards() if c.code == code), None)


_BRACKETS = re.compile(r"（[^）]*）|\([^)]*\)")


def _parts_in_order(parts: list[str], text: str) -> bool:
    at = 0
    for part in parts:
        found = text.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


def _policy_named(question: str):
    """The policy in force the question is about, a list when several fit equally and the
    question does not say which, or None. By the policy's name (without its bracketed part)
    first; else by the lexicon's everyday words for it (低保, 生小孩 补贴), the longest word
    found deciding."""
    text = re.sub(r"\s+", "", question)
    cards = _policy_cards()
    hits = []
    for card in cards:
        core = _BRACKETS.sub("", card.name)
        if len(core) >= 3 and core in text:
            hits.append(card)
    exact = [c for c in hits if c.name in text]
    if len(exact) == 1:
        return exact[0]
    if len(hits) == 1:
        return hits[0]
    if hits:
        return hits
    folded = catalog.normalise_query(text)
    words = catalog.lexicon_policy_words()
    best, found = 0, []
    for card in cards:
        score = max(
            (
                len(w.replace(" ", ""))
                for w in words.get(card.code, ())
                if _parts_in_order(w.split(" "), folded)
            ),
            default=0,
        )
        if score and score > best:
            best, found = score, [card]
        elif score and score == best:
            found.append(card)
    if len(found) == 1:
        return found[0]
    return found or None


# What a policy answers itself; the rest (materials, time, place …) is its item's guide's.
POLICY_ASPECTS = frozenset({"conditions", "benefit"})


def _policy_answer(card, aspects, state: State, ctx: Context) -> Answer:
    base = f"/policies/{card.code}/"
    # What the policy's item answers (its materials, its time) is the item's guide's to say.
    item_aspects = [a for a in aspects if a not in ("conditions", "fee", "benefit")]
    if card.item and item_aspects and card.mode != "automatic":
        try:
            item = catalog.item_definition(card.item)
        except ItemNotFound:
            item = None
        if item is not None:
            state.focus(Target("item", item.code, item.name))
            answer = _item_answer(item, tuple(item_aspects), state, ctx)
            answer.sentences.insert(
                0,
                Sentence(
                    f"「{card.name}」通过事项「{item.name}」申请。",
                    Source("item", "怎样享受", base + "#how-title"),
                ),
            )
            return answer
    sentences = []
    asked = set(aspects or ())
    if not asked or asked - POLICY_ASPECTS:
        sentences.append(Sentence(card.summary, Source("summary", "政策说明", base)))
    if not asked or asked != {"conditions"}:
        sentences.append(
            Sentence(
                f"「{card.name}」待遇标准：{card.benefit}。",
                Source("benefit", "待遇标准", base + "#benefit-title"),
            )
        )
    if card.conditions and asked != {"benefit"}:
        sentences.append(
            Sentence(
                "享受条件（同时满足）：" + "；".join(card.conditions) + "。",
                Source("eligibility", "享受条件", base + "#conditions-title"),
            )
        )
    sentences.append(
        Sentence(f"享受方式：{card.mode_label}。", Source("mode", "怎样享受", base + "#how-title"))
    )
    actions = [Action("查看政策详情", base)]
    if card.action_url and card.mode != "automatic":
        label = "一键申请" if card.item_online else "查看办理方式"
        actions.append(Action(label, card.action_url))
    return Answer(
        "answer", sentences, actions=actions, target=state.target,
        aspect=",".join(aspects or ("overview",)),
    )  # fmt: skip


# ---------------------------------------------------------------- declining


def _decline(subject: str, ctx: Context) -> Answer:
    outcome = catalog.catalog_search_outcome(q=subject, limit=3, prefer=ctx.prefer)
    missing = "、".join(f"“{w}”" for w in outcome.missing) or f"“{subject}”"
    sentences = [
        Sentence(f"抱歉，办事指南和政策中没有关于{missing}的内容，我不能凭空回答。"),
        Sentence("您可以转人工客服，对话记录会一并转给工作人员。"),
        Sentence(HOTLINE_SENTENCE),
    ]
    actions = [_handoff(ctx)]
    closest = (outcome.results or outcome.suggestions)[:3]
    if closest:
        sentences.insert(1, Sentence("以下服务的名称与您的问题相近，可以看看是否是您要办的："))
    for r in closest:
        url = f"/{'bundles' if r.kind == 'bundle' else 'items'}/{r.code}/"
        actions.append(Action(f"看看「{r.name}」", url))
    return Answer("decline", sentences, actions=actions)


# ---------------------------------------------------------------- 我的办件


def _my_cases(reading: Reading, state: State, ctx: Context) -> Answer:
    target = None
    if reading.subject:
        found = catalog.catalog_answer_target(q=reading.subject, prefer=ctx.prefer)
        if found is None:
            return _decline(reading.subject, ctx)
        target = Target(found.kind, found.code, found.name)
        state.focus(target)
    user = ctx.user
    if user is None or not user.is_authenticated:
        return Answer(
            "login",
            [Sentence("查询办件进度需要先登录。登录后，我只会告诉您本人的办件办到了哪一步。")],
            actions=[Action("登录", LOGIN_URL)],
            target=target,
            aspect="progress",
        )
    from tongban.cases.receipt import receipt_display
    from tongban.cases.selectors import case_detail, cases_for_applicant

    rows = cases_for_applicant(user=user, limit=50)
    if target is not None:
        rows = [r for r in rows if _case_about(r, target)]
    mine = Source("cases", "我的办件", "/me/cases/")
    actions = [Action("查看我的办件", "/me/cases/")]
    if not rows:
        what = f"「{target.name}」的" if target else ""
        return Answer(
            "cases",
            [Sentence(f"在您的“我的办件”中没有找到{what}办件。", mine)],
            actions=actions,
            target=target,
            aspect="progress",
        )
    sentences = []
    for row in rows[:MAX_CASES]:
        detail = case_detail(user=user, receipt_no=row["receipt_no"])
        receipt = receipt_display(row["receipt_no"])
        src = Source("case", "我的办件", f"/me/cases/{row['receipt_no']}/")
        status = detail["status_label"] + (
            f"，{detail['outcome_label']}" if detail["outcome"] else ""
        )
        sentences.append(
            Sentence(
                f"您的「{detail['name']}」（受理编号 {receipt}）：{status}。",
                src,
            )
        )
        tasks = detail["tasks"]
        if target is not None and target.kind == "item":
            tasks = [t for t in tasks if t["item_code"] == target.code]
        else:
            tasks = [
                t
                for t in tasks
                if t["status"] in ("waiting", "pending", "claimed", "supplement_requested")
            ]
        for t in tasks:
            sentences.append(
                Sentence(
                    f"其中「{t['item_name']}」（{t['department_name']}）：{t['applicant_status_label']}。",
                    src,
                )
            )
        if detail["supplement"]:
            sentences.append(Sentence("该办件需要您补正材料，请打开办件页面查看。", src))
        actions.insert(-1, Action(f"查看办件 {receipt}", src.url))
    return Answer("cases", sentences, actions=actions, target=target, aspect="progress")


def _case_about(row: dict[str, Any], target: Target) -> bool:
    if row["code"] == target.code:
        return True
    if target.kind == "item" and row["kind"] == "bundle":
        try:
            return target.code in catalog.guide_sources(kind="bundle", code=row["code"]).items
        except BundleNotFound:
            return False
    return False
