"""Back-office maintenance of accounts, profiles and posts.

Writes go through the services so the audit trail is the same as everywhere else. Encrypted
values never appear unmasked in a list, identity (ID number, 统一社会信用代码) cannot be edited
here, and opening a resident's record is itself a recorded read of personal data.
"""

from __future__ import annotations

import contextlib

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from tongban.accounts.http import client_ip
from tongban.accounts.models import (
    Enterprise,
    EnterpriseMembership,
    LoginAttempt,
    ResidentProfile,
    StaffAssignment,
    User,
)
from tongban.accounts.selectors import resident_id_number_hash
from tongban.accounts.services import (
    enterprise_membership_grant,
    enterprise_update,
    resident_profile_update,
    staff_assign,
    staff_unassign,
    totp_disable,
)
from tongban.accounts.validators import (
    mask_id_number,
    mask_name,
    mask_phone,
    parse_credit_code,
    parse_id_number,
)
from tongban.common.errors import InvalidInput
from tongban.common.services import audit_record

ADMIN_READ_PURPOSE = "后台管理：维护居民档案"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "kind", "totp_enabled", "elder_mode", "is_active")
    list_filter = ("kind", "totp_enabled", "is_active", "is_staff")
    search_fields = ("username", "display_name")
    # The TOTP secret is never shown or edited; enabling happens only through enrolment.
    readonly_fields = ("totp_enabled", "last_login", "date_joined")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("通办", {"fields": ("kind", "display_name", "elder_mode", "totp_enabled")}),
    )
    actions = ("reset_totp",)

    @admin.action(description="重置双因素认证（用户遗失手机时）")
    def reset_totp(self, request, queryset):
        for user in queryset:
            totp_disable(actor=request.user, user=user)
        messages.success(request, f"已重置{queryset.count()}个账户的双因素认证")


@admin.register(ResidentProfile)
class ResidentProfileAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "masked_id_number",
        "sex",
        "birth_date",
        "masked_phone",
        "hukou_district",
    )
    list_filter = ("sex", "hukou_district", "hukou_is_local", "is_synthetic")
    search_fields = ("name",)
    exclude = ("id_number", "id_number_hash")
    readonly_fields = ("masked_id_number", "birth_date", "sex", "user", "is_synthetic")
    list_per_page = 50

    @admin.display(description="身份证号码")
    def masked_id_number(self, obj: ResidentProfile) -> str:
        return mask_id_number(obj.id_number)

    @admin.display(description="手机号码")
    def masked_phone(self, obj: ResidentProfile) -> str:
        return mask_phone(obj.phone)

    def get_search_results(self, request, queryset, search_term):
        # The ID number column is ciphertext; a typed ID number is found through its hash.
        try:
            number = parse_id_number(search_term).number
        except InvalidInput:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(id_number_hash=resident_id_number_hash(number)), False

    def has_add_permission(self, request) -> bool:
        # New profiles come from resident_profile_create (loaders, registration), which
        # derives birth date and sex from the ID number and indexes it.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET" and object_id and str(object_id).isdigit():
            audit_record(
                actor=request.user,
                action="personal_data.read",
                object_type="resident_profile",
                object_id=object_id,
                subject_resident_id=int(object_id),
                purpose=ADMIN_READ_PURPOSE,
                ip_address=client_ip(request),
                data={"view": "admin"},
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        original = ResidentProfile.objects.get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        resident_profile_update(actor=request.user, profile=original, changes=changes)


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ("name", "uscc", "type", "masked_legal_representative", "district", "status")
    list_filter = ("type", "status", "district", "is_synthetic")
    search_fields = ("name", "=uscc")
    exclude = ("legal_representative_id_number",)
    readonly_fields = ("uscc", "masked_legal_representative_id_number", "is_synthetic")

    @admin.display(description="法定代表人")
    def masked_legal_representative(self, obj: Enterprise) -> str:
        return mask_name(obj.legal_representative)

    @admin.display(description="法定代表人身份证号码")
    def masked_legal_representative_id_number(self, obj: Enterprise) -> str:
        return mask_id_number(obj.legal_representative_id_number)

    def get_search_results(self, request, queryset, search_term):
        with contextlib.suppress(InvalidInput):
            search_term = parse_credit_code(search_term).code
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request) -> bool:
        return False  # enterprise_create validates the 统一社会信用代码

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        original = Enterprise.objects.get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        enterprise_update(actor=request.user, enterprise=original, changes=changes)


@admin.register(EnterpriseMembership)
class EnterpriseMembershipAdmin(admin.ModelAdmin):
    list_display = ("enterprise", "user", "invitee_name", "role", "accepted_at", "revoked_at")
    list_filter = ("role",)
    raw_id_fields = ("user", "enterprise")
    search_fields = ("enterprise__name", "=enterprise__uscc", "user__username")
    # The back office grants a live authority (user, enterprise, role) or changes its role;
    # scope, acceptance and revocation belong to the enterprise's own 授权管理 and are only
    # shown here, so an edit to them cannot be silently dropped.
    _RECORD = (
        "invitee_name",
        "items",
        "may_certificates",
        "may_idcode",
        "expires_on",
        "granted_by",
        "accepted_at",
        "revoked_at",
        "revoked_by",
        "declined_at",
    )

    def get_fields(self, request, obj=None):
        return (
            ("user", "enterprise", "role", *self._RECORD) if obj else ("user", "enterprise", "role")
        )

    def get_readonly_fields(self, request, obj=None):
        return ("user", "enterprise", *self._RECORD) if obj else ()

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting would erase the record of who could act; authorities are revoked instead.
        return False

    def save_model(self, request, obj, form, change):
        membership = enterprise_membership_grant(
            actor=request.user, enterprise=obj.enterprise, user=obj.user, role=obj.role
        )
        obj.pk = membership.pk


@admin.register(StaffAssignment)
class StaffAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "department", "role", "hall", "created_at")
    list_filter = ("role", "department", "hall")
    raw_id_fields = ("user",)
    search_fields = ("user__username", "user__display_name", "department__name")

    def has_change_permission(self, request, obj=None) -> bool:
        # A post is assigned or taken away, never edited into a different post silently.
        return False

    def save_model(self, request, obj, form, change):
        assignment = staff_assign(
            actor=request.user,
            user=obj.user,
            department=obj.department,
            role=obj.role,
            hall=obj.hall,
        )
        obj.pk = assignment.pk

    def delete_model(self, request, obj):
        staff_unassign(actor=request.user, assignment=obj)

    def delete_queryset(self, request, queryset):
        for assignment in queryset:
            staff_unassign(actor=request.user, assignment=assignment)


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "ip_address", "kind", "succeeded")
    list_filter = ("kind", "succeeded")
    search_fields = ("=username", "=ip_address")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
