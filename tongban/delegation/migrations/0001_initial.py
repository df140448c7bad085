import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0008_identity_assurance_and_enterprise_grants"),
        ("appointments", "0001_halls_and_windows"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Delegation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("agent_id_hash", models.CharField(db_index=True, max_length=64, verbose_name="代办人身份证号码（密钥散列）")),
                ("agent_name", models.CharField(max_length=60, verbose_name="代办人姓名")),
                ("items", models.JSONField(blank=True, default=list, verbose_name="可代办事项")),
                ("valid_until", models.DateField(verbose_name="授权截止日期")),
                (
                    "state",
                    models.CharField(
                        choices=[("proposed", "待对方确认"), ("active", "生效"), ("declined", "已拒绝"), ("revoked", "已撤销"), ("expired", "已过期")],
                        default="proposed",
                        max_length=10,
                        verbose_name="状态",
                    ),
                ),
                (
                    "recorded_via",
                    models.CharField(
                        choices=[("online", "本人网上授权"), ("counter", "综合窗口当面登记")],
                        default="online",
                        max_length=8,
                        verbose_name="登记方式",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("accepted_at", models.DateTimeField(blank=True, null=True, verbose_name="确认时间")),
                ("declined_at", models.DateTimeField(blank=True, null=True, verbose_name="拒绝时间")),
                ("revoked_at", models.DateTimeField(blank=True, null=True, verbose_name="撤销时间")),
                (
                    "agent_user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="delegations_received",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="代办人账户",
                    ),
                ),
                (
                    "hall",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="appointments.hall",
                        verbose_name="登记大厅",
                    ),
                ),
                (
                    "principal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="delegations_given",
                        to="accounts.residentprofile",
                        verbose_name="被代办人",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="登记人",
                    ),
                ),
                (
                    "revoked_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="撤销人",
                    ),
                ),
            ],
            options={
                "verbose_name": "亲友代办授权",
                "verbose_name_plural": "亲友代办授权",
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("state__in", ["proposed", "active"])),
                        fields=("principal", "agent_id_hash"),
                        name="one_open_delegation_per_pair",
                    )
                ],
            },
        ),
    ]
