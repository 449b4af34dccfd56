"""Bodies, query options and answers of the Admin API, for parsing and for the OpenAPI
document. Answers follow the official SDK's ``openai.types.admin.organization`` types."""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from gateway.admin_api.common import MAX_ID, AdminListQuery
from ground.bodies import JsonInt


def _budget_text(value: object) -> object:
    """A budget as sent: a decimal string, a JSON integer (read as its digits) or null; a
    JSON number with a fraction (a float, rounded before we see it) or anything else is
    refused here, the amount itself by ``accounts.org_rules.clean_budget``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    raise PydanticCustomError(
        "budget_type", 'a budget is a decimal string such as "12.50", an integer, or null'
    )


Budget = Annotated[str | None, BeforeValidator(_budget_text)]
BUDGET = 'USD as a decimal string ("12.50"), 0 to 100,000,000; null for none.'


class AdminObject(Schema):
    """An answer that may carry fields beyond those listed (OpenAI adds fields over time)."""

    model_config = ConfigDict(extra="allow")


# --- Bodies ------------------------------------------------------------------------------------
class ProjectCreate(Schema):
    name: str = Field(description="1 to 100 characters, no control characters.")
    monthly_budget_usd: Budget = Field(None, description=BUDGET)
    daily_budget_usd: Budget = Field(None, description=BUDGET)
    member_cap_usd: Budget = Field(
        None, description="What each member may spend a month. " + BUDGET
    )


class ProjectModify(Schema):
    name: str | None = Field(None, description="1 to 100 characters, no control characters.")
    monthly_budget_usd: Budget = Field(None, description=BUDGET)
    daily_budget_usd: Budget = Field(None, description=BUDGET)
    member_cap_usd: Budget = Field(None, description=BUDGET)


class RoleChange(Schema):
    role: str = Field(
        description="`owner` or `reader` (organization); `owner` or `member` (project)."
    )


class ProjectUserModify(Schema):
    role: str | None = Field(None, description="`owner` or `member`.")
    cap_usd: Budget = Field(
        None,
        description="Portico's: this member's own monthly cap (organization owners). " + BUDGET,
    )


class ProjectUserAdd(Schema):
    user_id: str = Field(max_length=MAX_ID, description="An organization member's id (user-…).")
    role: str = Field(description="`owner` or `member`.")


class InviteProject(Schema):
    id: str = Field(max_length=MAX_ID)
    role: str = Field(description="`owner` or `member`.")


class InviteCreate(Schema):
    email: str = Field(max_length=254)
    role: str = Field(description="`owner` or `reader`.")
    projects: list[InviteProject] | None = Field(
        None, description="Joined on acceptance; omitted: the default project; []: none."
    )


class ServiceAccountCreate(Schema):
    name: str = Field(description="1 to 100 characters.")
    expires_in_seconds: JsonInt | None = None


class AdminKeyCreate(Schema):
    name: str = Field(description="1 to 100 characters.")
    expires_in_seconds: JsonInt | None = None


class RateLimitModify(Schema):
    max_requests_per_1_minute: JsonInt | None = None
    max_tokens_per_1_minute: JsonInt | None = None
    max_requests_per_1_day: JsonInt | None = None


class SpendLimitModify(Schema):
    threshold_amount: JsonInt = Field(description="The monthly budget, in cents.")
    currency: Literal["USD"] = "USD"
    interval: Literal["month"] = "month"


class ProjectListQuery(AdminListQuery):
    include_archived: bool | None = None


# --- Answers -----------------------------------------------------------------------------------
class ProjectObject(AdminObject):
    id: str
    object: Literal["organization.project"]
    name: str
    created_at: int
    archived_at: int | None
    status: Literal["active", "archived"]
    monthly_budget_usd: str | None
    daily_budget_usd: str | None
    member_cap_usd: str | None
    is_default: bool


class UserObject(AdminObject):
    id: str
    object: str
    name: str
    email: str
    role: str
    added_at: int


class InviteObject(AdminObject):
    id: str
    object: Literal["organization.invite"]
    email: str
    role: str
    status: Literal["pending", "accepted", "expired"]
    created_at: int
    expires_at: int | None
    accepted_at: int | None
    projects: list[InviteProject]


class ServiceAccountObject(AdminObject):
    id: str
    object: Literal["organization.project.service_account"]
    name: str
    role: str
    created_at: int


class ServiceAccountKey(AdminObject):
    id: str
    object: Literal["organization.project.service_account.api_key"]
    name: str
    value: str
    created_at: int


class ServiceAccountCreated(ServiceAccountObject):
    api_key: ServiceAccountKey


class KeyOwner(AdminObject):
    type: Literal["user", "service_account"]


class ApiKeyObject(AdminObject):
    id: str
    object: str
    name: str
    redacted_value: str
    created_at: int
    last_used_at: int | None
    expires_at: int | None
    owner: KeyOwner


class AdminKeyCreated(ApiKeyObject):
    value: str


class RateLimitObject(AdminObject):
    id: str
    object: Literal["project.rate_limit"]
    model: str
    max_requests_per_1_minute: int | None
    max_tokens_per_1_minute: int | None
    max_requests_per_1_day: int | None


class Enforcement(Schema):
    status: Literal["inactive", "enforcing"]


class SpendLimitObject(Schema):
    object: Literal["project.spend_limit"]
    currency: Literal["USD"]
    interval: Literal["month"]
    threshold_amount: int | None
    enforcement: Enforcement


class Deleted(Schema):
    id: str
    object: str
    deleted: bool


class SpendLimitDeleted(Schema):
    object: Literal["project.spend_limit.deleted"]
    deleted: bool


class AuditActor(AdminObject):
    type: Literal["session", "api_key"]


class AuditProject(Schema):
    id: str
    name: str


class AuditLogObject(AdminObject):
    id: str
    object: str
    type: str
    effective_at: int
    actor: AuditActor
    project: AuditProject | None
    before: dict
    after: dict


def listing(item: type[Schema], name: str) -> type[Schema]:
    """OpenAI's list of ``item``."""
    return type(
        name,
        (Schema,),
        {
            "__annotations__": {
                "object": Literal["list"],
                "data": list[item],
                "first_id": str | None,
                "last_id": str | None,
                "has_more": bool,
            }
        },
    )


ProjectList = listing(ProjectObject, "ProjectList")
UserList = listing(UserObject, "OrganizationUserList")
InviteList = listing(InviteObject, "InviteList")
ServiceAccountList = listing(ServiceAccountObject, "ServiceAccountList")
ApiKeyList = listing(ApiKeyObject, "ProjectApiKeyList")
RateLimitList = listing(RateLimitObject, "RateLimitList")
AuditLogList = listing(AuditLogObject, "AuditLogList")


class UsageResult(AdminObject):
    object: str


class UsageBucket(AdminObject):
    object: Literal["bucket"]
    start_time: int
    end_time: int
    results: list[UsageResult]


class OrganizationUsagePage(Schema):
    object: Literal["page"]
    data: list[UsageBucket]
    has_more: bool
    next_page: str | None
