"""Planners of pauseDatabaseTraffic and resumeDatabaseTraffic, and the traffic and backup
pause changes a restore reuses (``restore-design.md``)."""

from resolvers.writes.traffic.backups import pause_backup_changes, resume_backup_changes
from resolvers.writes.traffic.mutations import (
    PauseDatabaseTrafficInput,
    ResumeDatabaseTrafficInput,
    TrafficPlan,
    plan_pause_database_traffic,
    plan_resume_database_traffic,
    waiting_workflow,
    workflows_for,
)
from resolvers.writes.traffic.planner import pause_changes, resume_changes

__all__ = [
    "PauseDatabaseTrafficInput",
    "ResumeDatabaseTrafficInput",
    "TrafficPlan",
    "pause_backup_changes",
    "pause_changes",
    "plan_pause_database_traffic",
    "plan_resume_database_traffic",
    "resume_backup_changes",
    "resume_changes",
    "waiting_workflow",
    "workflows_for",
]
