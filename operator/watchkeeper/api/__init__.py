"""The Watchkeeper API (watchkeeper.io/v1alpha1) as pydantic models; CRDs are generated
from these."""

from .alert import ALERT
from .alertpolicy import ALERT_POLICY
from .common import API_VERSION, CATEGORY, GROUP, VERSION, KindDefinition
from .escalationpolicy import ESCALATION_POLICY
from .inhibitrule import INHIBIT_RULE
from .notificationchannel import NOTIFICATION_CHANNEL
from .scalingpolicy import SCALING_POLICY
from .silence import SILENCE
from .timeinterval import TIME_INTERVAL

KINDS: tuple[KindDefinition, ...] = (
    ALERT_POLICY,
    ALERT,
    NOTIFICATION_CHANNEL,
    ESCALATION_POLICY,
    SCALING_POLICY,
    SILENCE,
    INHIBIT_RULE,
    TIME_INTERVAL,
)

__all__ = [
    "ALERT",
    "ALERT_POLICY",
    "API_VERSION",
    "CATEGORY",
    "ESCALATION_POLICY",
    "GROUP",
    "INHIBIT_RULE",
    "KINDS",
    "NOTIFICATION_CHANNEL",
    "SCALING_POLICY",
    "SILENCE",
    "TIME_INTERVAL",
    "VERSION",
    "KindDefinition",
]
