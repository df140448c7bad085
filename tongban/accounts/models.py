from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from tongban.common.fields import EncryptedTextField


class AssuranceLevel(models.IntegerChoices):
    """身份核验等级 — how sure the platform is that an account is the person it names.

    Ordered: an item may require at least a level (办理该事项需达到的核验等级)."""

    NONE = 0, "未核验"
    SMS = 1, "手机号已验证"
    REAL_NAME = 2, "已实名核验"
    IN_PERSON = 3, "窗口当面核验"


class User(AbstractUser):
    """账户 — a login. A person (resident, who may also act for enterprises) or a staff member.

    Personal facts live on ResidentProfile (一人一档), not here: the government's record of a
    person exists whether or not they ever open an account.
    """

    class Kind(models.TextChoices):
        PERSON = "person", "个人用户"
        STAFF = "staff", "工作人员"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSON)
    display_name = models.CharField("显示名称", max_length=60, blank=True)
    # TOTP 双因素认证 secret (RFC 6238), encrypted at rest.
    totp_secret = EncryptedTextField(blank=True, default="")
    totp_enabled = models.BooleanField("已启用双因素认证", default=False)
    totp_last_step = models.BigIntegerField(default=0)  # refuses a code replayed in its window
    elder_mode = models.BooleanField("长者版", default=False)
    assurance_level = models.PositiveSmallIntegerField(
        "身份核验等级", choices=AssuranceLevel.choices, default=AssuranceLevel.NONE
    )
    assurance_at = models.DateTimeField("核验时间", null=True, blank=True)
    # Keyed hash of the mobile number confirmed by SMS: reset codes go to it, and it counts how
    # many accounts one number has confirmed. The number itself is on the resident profile.
    mobile_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    mobile_confirmed_at = models.DateTimeField("手机号验证时间", null=True, blank=True)

    @property
    def is_staff_member(self) -> bool:
        return self.kind == self.Kind.STAFF


class District(models.TextChoices):
    """Districts of the demo city (Shanghai's 16, codes from GB/T 2260)."""

    HUANGPU = "310101", "黄浦区"
    XUHUI = "310104", "徐汇区"
    CHANGNING = "310105", "长宁区"
    JINGAN = "310106", "静安区"
    PUTUO = "310107", "普陀区"
    HONGKOU = "310109", "虹口区"
    YANGPU = "310110", "杨浦区"
    MINHANG = "310112", "闵行区"
    BAOSHAN = "310113", "宝山区"
    JIADING = "310114", "嘉定区"
    PUDONG = "310115", "浦东新区"
    JINSHAN = "310116", "金山区"
    SONGJIANG = "310117", "松江区"
    QINGPU = "310118", "青浦区"
    FENGXIAN = "310120", "奉贤区"
    CHONGMING = "310151", "崇明区"


class HouseholdRelation(models.TextChoices):
    """与户主关系 — a member's relation to the head of their household."""

    HEAD = "head", "户主"
    SPOUSE = "spouse", "配偶"
    CHILD = "child", "子女"
    PARENT = "parent", "父母"
    GRANDCHILD = "grandchild", "孙子女"
    OTHER = "other", "其他"


class Household(models.Model):
    """户 — a household as the 户籍 register keeps it: a number, the district, its members
    (ResidentProfile.household) each with their relation to the head (与户主关系). Policies
    count and sum over its members (家庭人均收入, 家中有学龄儿童)."""

    number = models.CharField("户号", max_length=20, unique=True)
    district = models.CharField("户籍所在区", max_length=6, choices=District.choices, blank=True)
    is_synthetic = models.BooleanField("示例数据", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "户"
        verbose_name_plural = "户"

    def __str__(self) -> str:
        return self.number


class ResidentProfile(models.Model):
    """一人一档 — the resident's profile: identity, household, and the attributes policies read."""

    class Sex(models.TextChoices):
        MALE = "M", "男"
        FEMALE = "F", "女"

    class MaritalStatus(models.TextChoices):
        UNMARRIED = "unmarried", "未婚"
        MARRIED = "married", "已婚"
        DIVORCED = "divorced", "离异"
        WIDOWED = "widowed", "丧偶"

    user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="resident_profile"
    )
    name = models.CharField("姓名", max_length=60)
    id_number = EncryptedTextField("身份证号码", context="resident.id_number")
    id_number_hash = models.CharField(max_length=64, unique=True)
    birth_date = models.DateField("出生日期", db_index=True)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices)
    phone = EncryptedTextField("手机号码", blank=True, default="", context="resident.phone")
    hukou_district = models.CharField(
        "户籍所在区", max_length=6, choices=District.choices, blank=True, db_index=True
    )
    hukou_is_local = models.BooleanField("本市户籍", default=True)
    residence_district = models.CharField(
        "居住区", max_length=6, choices=District.choices, blank=True, db_index=True
    )
    residence_address = EncryptedTextField(
        "居住地址", blank=True, default="", context="resident.residence_address"
    )
    marital_status = models.CharField(
        "婚姻状况", max_length=10, choices=MaritalStatus.choices, default=MaritalStatus.UNMARRIED
    )
    disability_grade = models.PositiveSmallIntegerField(
        "残疾等级", null=True, blank=True, help_text="1-4级；空表示无残疾人证"
    )
    is_veteran = models.BooleanField("退役军人", default=False)
    is_low_income = models.BooleanField("低收入家庭", default=False)
    is_minimum_living_allowance = models.BooleanField("最低生活保障对象", default=False)
    has_residence_permit = models.BooleanField("持有居住证", default=False)
    employment_status = models.CharField("就业状况", max_length=20, blank=True)
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    household_relation = models.CharField(
        "与户主关系", max_length=12, choices=HouseholdRelation.choices, blank=True
    )
    # 月收入（元）, as the 核对 of income (社保缴费基数, 养老金) reports it; None: not known.
    # Compared in bulk by 政策找人 (家庭人均收入), so it is not field-encrypted: the database's
    # own encryption at rest covers it, as it covers disability grade and 低保 status.
    monthly_income = models.DecimalField(
        "月收入（元）", max_digits=10, decimal_places=2, null=True, blank=True
    )
    is_synthetic = models.BooleanField("示例数据", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "居民档案"
        verbose_name_plural = "居民档案"

    def __str__(self) -> str:
        return self.name


class Enterprise(models.Model):
    """一企一档 — the enterprise's profile, keyed by its 统一社会信用代码."""

    class Type(models.TextChoices):
        LLC = "llc", "有限责任公司"
        JOINT_STOCK = "joint_stock", "股份有限公司"
        SOLE_PROPRIETORSHIP = "sole", "个人独资企业"
        PARTNERSHIP = "partnership", "合伙企业"
        INDIVIDUAL_BUSINESS = "individual", "个体工商户"
        FOREIGN_INVESTED = "foreign", "外商投资企业"

    class Status(models.TextChoices):
        ACTIVE = "active", "存续"
        SUSPENDED = "suspended", "停业"
        DEREGISTERED = "deregistered", "注销"
        REVOKED = "revoked", "吊销"

    class Size(models.TextChoices):
        """企业规模 as 中小企业划型 classifies it."""

        MICRO = "micro", "微型"
        SMALL = "small", "小型"
        MEDIUM = "medium", "中型"
        LARGE = "large", "大型"

    class TaxCreditRating(models.TextChoices):
        A = "A", "A级"
        B = "B", "B级"
        M = "M", "M级"
        C = "C", "C级"
        D = "D", "D级"

    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True)
    name = models.CharField("企业名称", max_length=120, db_index=True)
    type = models.CharField("企业类型", max_length=20, choices=Type.choices)
    legal_representative = models.CharField("法定代表人", max_length=60)
    legal_representative_id_number = EncryptedTextField(
        "法定代表人身份证号码",
        blank=True,
        default="",
        context="enterprise.legal_representative_id_number",
    )
    registered_capital = models.DecimalField("注册资本（万元）", max_digits=14, decimal_places=2)
    industry_code = models.CharField("行业代码（GB/T 4754）", max_length=5)
    district = models.CharField("登记区", max_length=6, choices=District.choices)
    address = models.CharField("住所", max_length=200, blank=True)
    founded_on = models.DateField("成立日期")
    employees = models.PositiveIntegerField("从业人数", default=0)
    # What 惠企政策 read, as the systems that hold them report it (工信 for size, 税务 for the
    # credit rating, 人社 for insured staff and the year's layoffs, 科委 for 高新技术企业).
    size = models.CharField("企业规模", max_length=8, choices=Size.choices, blank=True)
    annual_revenue = models.DecimalField(
        "上年度营业收入（万元）", max_digits=14, decimal_places=2, null=True, blank=True
    )
    tax_credit_rating = models.CharField(
        "纳税信用等级", max_length=1, choices=TaxCreditRating.choices, blank=True
    )
    insured_headcount = models.PositiveIntegerField("参保职工人数", null=True, blank=True)
    # 上年度裁员率 (%): insured staff lost over the year, of those at its start.
    layoff_rate = models.DecimalField(
        "上年度裁员率（%）", max_digits=5, decimal_places=2, null=True, blank=True
    )
    is_high_tech = models.BooleanField("高新技术企业", default=False)
    status = models.CharField("登记状态", max_length=15, choices=Status.choices, default="active")
    is_synthetic = models.BooleanField("示例数据", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "企业档案"
        verbose_name_plural = "企业档案"

    def __str__(self) -> str:
        return self.name


class EnterpriseMembership(models.Model):
    """法人经办人 — a person's authority to act for an enterprise (企业授权).

    The legal representative, or an administrator, names an agent with a scope and an end
    date; the agent accepts; either revokes. Only an accepted, unrevoked, unexpired row lets
    its holder act."""

    class Role(models.TextChoices):
        LEGAL_REPRESENTATIVE = "legal_rep", "法定代表人"
        ADMINISTRATOR = "admin", "管理员"
        AGENT = "agent", "经办人"

    # Empty while an invitation waits: a grant names a person by ID number, and whether that
    # person has an account is not the granter's business. The account that holds the ID
    # number (on its 一人一档) fills it in by accepting or declining.
    user = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="enterprise_memberships",
    )
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.AGENT)
    # Who was invited (被授权人): the keyed hash of the ID number and the name as the granter
    # typed them. Empty on rows made before invitations existed.
    invitee_id_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    invitee_name = models.CharField("被授权人姓名", max_length=60, blank=True, default="")
    # Scope (授权范围): the item and bundle codes the agent may apply for; empty means all.
    items = models.JSONField("可办理事项", default=list, blank=True)
    may_certificates = models.BooleanField("可查看企业证照", default=True)
    may_idcode = models.BooleanField("可出示企业随申码", default=True)
    expires_on = models.DateField("授权截止日期", null=True, blank=True)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField("接受授权时间", null=True, blank=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declined_at = models.DateTimeField("拒绝授权时间", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "企业授权"
        verbose_name_plural = "企业授权"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "enterprise"],
                condition=models.Q(revoked_at__isnull=True, declined_at__isnull=True),
                name="one_open_membership_per_pair",
            ),
            models.UniqueConstraint(
                fields=["invitee_id_hash", "enterprise"],
                condition=models.Q(revoked_at__isnull=True, declined_at__isnull=True)
                & ~models.Q(invitee_id_hash=""),
                name="one_open_invitation_per_person",
            ),
        ]


class StaffRole(models.TextChoices):
    """岗位角色 — what a post lets its holder do in a department."""

    ACCEPTOR = "acceptor", "受理"
    REVIEWER = "reviewer", "审核"
    ISSUER = "issuer", "出件"
    DEPARTMENT_LEAD = "department_lead", "部门负责人"
    COUNTER_CLERK = "counter_clerk", "综合窗口"
    SERVICE_OWNER = "service_owner", "事项管理"
    CITY_OPERATOR = "city_operator", "城市运营"
    ADMINISTRATOR = "administrator", "系统管理员"
    # 在线客服: answers residents handed over by the assistant (转人工) and left messages.
    HELPDESK = "helpdesk", "在线客服"


class StaffAssignment(models.Model):
    """岗位 — a staff member's role inside one department. A person may hold several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_assignments")
    department = models.ForeignKey(
        "catalog.Department", on_delete=models.PROTECT, related_name="staff_assignments"
    )
    role = models.CharField(max_length=20, choices=StaffRole.choices)
    # Where a counter clerk or issuer (出件) sits: they handle the cases of that hall only.
    hall = models.ForeignKey(
        "appointments.Hall",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff_assignments",
        verbose_name="所在大厅",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department", "role"], name="one_assignment_per_role"
            )
        ]


class LoginAttempt(models.Model):
    """登录尝试 — one login try, kept in the database so throttling holds across every app
    server and worker process.

    KIND keeps the counts apart: a mistyped activation code must not slow the same person's
    password login, nor the reverse. A completed login is one LOGIN row with succeeded set
    (recorded after TOTP, when there is one); TOTP rows are only the wrong codes."""

    class Kind(models.TextChoices):
        LOGIN = "login", "登录"
        TOTP = "totp", "动态验证码"
        ACTIVATION = "activation", "账号激活"
        SMS_CODE = "sms_code", "短信验证码"
        RESET = "reset", "找回密码"
        PASSKEY = "passkey", "通行密钥"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.LOGIN)
    succeeded = models.BooleanField(default=False)

    class Meta:
        # The throttle asks "failures for this name (or address) since T" on every login.
        indexes = [
            models.Index(fields=["username", "at"], name="loginattempt_user_at"),
            models.Index(fields=["ip_address", "at"], name="loginattempt_ip_at"),
        ]


class AccountActivationCode(models.Model):
    """账号激活码 — a one-time code a counter clerk hands a walk-in resident so they can give
    their login-less account (opened at the counter) a password of their own.

    Only a keyed hash of the code is stored: the clerk sees it once, printed for the resident.
    At most one code per account is live (neither used nor revoked); issuing again revokes it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="activation_codes")
    code_hash = models.CharField(max_length=64)
    issued_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="activation_codes_issued"
    )
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "账号激活码"
        verbose_name_plural = "账号激活码"
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(used_at__isnull=True, revoked_at__isnull=True),
                name="one_live_activation_code_per_user",
            )
        ]
