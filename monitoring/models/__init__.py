"""Models of the monitoring app, one module per concern."""

from monitoring.models.domains import Domain, DomainStatus
from monitoring.models.organizations import Invitation, Membership, Organization, Role

__all__ = ["Domain", "DomainStatus", "Invitation", "Membership", "Organization", "Role"]
