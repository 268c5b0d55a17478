"""Where a person is in the onboarding wizard, so it resumes after a log-out."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from monitoring.models.organizations import Organization

WIZARD_STEPS = 8


class OnboardingSession(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="onboarding_sessions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="onboarding_sessions"
    )
    step = models.PositiveSmallIntegerField(default=1)
    furthest_step = models.PositiveSmallIntegerField(default=1)
    # Answers so far: domains, discovery results, policy choices, destinations, hosting.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="one_onboarding_session_per_user_and_org"
            )
        ]

    def __str__(self) -> str:
        return f"onboarding of {self.organization} by {self.user} (step {self.step})"

    @property
    def percent(self) -> int:
        return round(100 * (self.step - 1) / (WIZARD_STEPS - 1))

    def go_to(self, step: int) -> None:
        self.step = max(1, min(WIZARD_STEPS, step))
        self.furthest_step = max(self.furthest_step, self.step)
        self.updated_at = timezone.now()
