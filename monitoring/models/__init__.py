"""Models of the monitoring app, one module per concern."""

from monitoring.models.alerts import (
    Alert,
    AlertChannel,
    AlertSource,
    ChannelKind,
    Notification,
    NotificationKind,
    NotificationStatus,
    Severity,
)
from monitoring.models.domains import Domain, DomainStatus
from monitoring.models.hosted import HostedPolicy
from monitoring.models.onboarding import OnboardingSession
from monitoring.models.organizations import Invitation, Membership, Organization, Role
from monitoring.models.runs import CheckRun, Finding, RunStatus
from monitoring.models.summary import DomainSummary

__all__ = [
    "Alert",
    "AlertChannel",
    "AlertSource",
    "ChannelKind",
    "CheckRun",
    "Domain",
    "DomainStatus",
    "DomainSummary",
    "Finding",
    "HostedPolicy",
    "Invitation",
    "Membership",
    "Notification",
    "NotificationKind",
    "NotificationStatus",
    "OnboardingSession",
    "Organization",
    "Role",
    "RunStatus",
    "Severity",
]
