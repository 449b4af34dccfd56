"""Every existing user gets a personal organization (owner) with a default project
(owner), and every existing key goes to its owner's default project: the same rule as
``accounts.organizations`` applies to new users and keys. Wallets, usage and documents
follow in their own apps' migrations, which depend on this one."""

from django.db import migrations

DEFAULT_PROJECT_NAME = "Default project"


def personal_name(email: str, name: str) -> str:
    who = (name or "").strip() or email.split("@")[0]
    return f"{who[:80]}'s organization"


def make_personal_organizations(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Organization = apps.get_model("accounts", "Organization")
    OrganizationMember = apps.get_model("accounts", "OrganizationMember")
    Project = apps.get_model("accounts", "Project")
    ProjectMember = apps.get_model("accounts", "ProjectMember")
    ApiKey = apps.get_model("accounts", "ApiKey")
    having = set(
        Organization.objects.filter(personal_for__isnull=False).values_list(
            "personal_for_id", flat=True
        )
    )
    for user in User.objects.order_by("pk").only("pk", "email", "name").iterator(chunk_size=500):
        if user.pk in having:
            continue
        org = Organization.objects.create(
            name=personal_name(user.email, user.name), personal_for_id=user.pk
        )
        OrganizationMember.objects.create(organization=org, user_id=user.pk, role="owner")
        project = Project.objects.create(
            organization=org, name=DEFAULT_PROJECT_NAME, is_default=True
        )
        ProjectMember.objects.create(project=project, user_id=user.pk, role="owner")
    defaults = {
        org_owner: (org_id, project_id)
        for org_owner, org_id, project_id in Project.objects.filter(
            is_default=True, organization__personal_for__isnull=False
        ).values_list("organization__personal_for_id", "organization_id", "pk")
    }
    for owner_id, (org_id, project_id) in defaults.items():
        ApiKey.objects.filter(owner_id=owner_id, organization__isnull=True).update(
            organization_id=org_id, project_id=project_id
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_organizations_projects")]

    operations = [
        migrations.RunPython(make_personal_organizations, migrations.RunPython.noop),
    ]
