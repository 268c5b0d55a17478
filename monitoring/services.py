"""Writes: every change to organizations, members and domains goes through these functions."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from monitoring.checks.names import normalize_domain
from monitoring.models import Domain, Invitation, Membership, Organization, Role


class InvitationError(Exception):
    """An invitation that cannot be accepted, with a message fit for the user."""


@transaction.atomic
def organization_create(*, name: str, owner) -> Organization:
    """Create an organization with ``owner`` as its first member, under a unique slug."""
    base = slugify(name)[:90] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    organization = Organization.objects.create(name=name.strip(), slug=slug)
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    return organization


def invitation_create(
    *, organization: Organization, email: str, role: str, invited_by
) -> Invitation:
    """Create an invitation and mail its single-use link to ``email``."""
    invitation = Invitation.objects.create(
        organization=organization, email=email.strip().lower(), role=role, invited_by=invited_by
    )
    link = settings.SITE_URL + reverse("invitation_accept", args=[invitation.token])
    context = {"invitation": invitation, "link": link, "inviter": invited_by}
    send_mail(
        subject=f"You are invited to {organization.name} on stsguard",
        message=render_to_string("emails/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    return invitation


def invitation_accept(*, token: str, user) -> Membership:
    """Accept an invitation for ``user``. Single-use: a second accept, by anyone, fails."""
    now = timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.select_related("organization").filter(token=token).first()
        if invitation is None:
            raise InvitationError("This invitation link is not valid.")
        if invitation.accepted_at is not None:
            raise InvitationError("This invitation has already been used.")
        if invitation.expires_at <= now:
            raise InvitationError("This invitation has expired; ask for a new one.")
        # The conditional update is what makes the token single-use under concurrency.
        claimed = Invitation.objects.filter(id=invitation.id, accepted_at__isnull=True).update(
            accepted_at=now, accepted_by=user
        )
        if not claimed:
            raise InvitationError("This invitation has already been used.")
        membership, created = Membership.objects.get_or_create(
            user=user, organization=invitation.organization, defaults={"role": invitation.role}
        )
        if not created and _rank(invitation.role) < _rank(membership.role):
            membership.role = invitation.role
            membership.save(update_fields=["role"])
    return membership


def _rank(role: str) -> int:
    return [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER].index(Role(role))


def domain_create(*, organization: Organization, name: str, created_by=None) -> Domain:
    """Add one domain; raises ValueError with a user-facing message for a bad or duplicate name."""
    normalized = normalize_domain(name)
    try:
        with transaction.atomic():
            return Domain.objects.create(
                organization=organization, name=normalized, created_by=created_by
            )
    except IntegrityError:
        raise ValueError(f"{normalized} is already monitored in {organization.name}.") from None


@dataclass
class BulkAddResult:
    created: list[Domain] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # line number, text, why


def domains_create_many(*, organization: Organization, text: str, created_by=None) -> BulkAddResult:
    """Add every valid name in ``text`` (one per line, or separated by commas or spaces).

    Bad lines are reported with their line number and kept out; the good ones are added.
    """
    result = BulkAddResult()
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        for token in line.replace(",", " ").split():
            if token.startswith("#"):
                break
            try:
                name = normalize_domain(token)
            except ValueError as exc:
                result.errors.append((number, token, str(exc)))
                continue
            if name in seen:
                continue
            seen.add(name)
            try:
                result.created.append(
                    domain_create(organization=organization, name=name, created_by=created_by)
                )
            except ValueError as exc:
                result.errors.append((number, token, str(exc)))
    return result
