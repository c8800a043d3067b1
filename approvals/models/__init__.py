from .audit import AuditChainHead, AuditEvent, AuditSnapshot
from .changes import ApprovalStep, Attachment, ChangeRequest, Comment, Decision, StepApprover
from .org import Delegation, Department, Profile
from .policies import BlackoutWindow, ChangeTemplate, Policy, PolicyStep

__all__ = [
    "ApprovalStep",
    "Attachment",
    "AuditChainHead",
    "AuditEvent",
    "AuditSnapshot",
    "BlackoutWindow",
    "ChangeRequest",
    "ChangeTemplate",
    "Comment",
    "Decision",
    "Delegation",
    "Department",
    "Policy",
    "PolicyStep",
    "Profile",
    "StepApprover",
]
