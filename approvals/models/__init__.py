from .audit import AuditChainHead, AuditEvent, AuditSnapshot
from .changes import ApprovalStep, Attachment, ChangeRequest, Comment, Decision, StepApprover
from .evidence import AuditCheckpoint, AuditVerification
from .org import Delegation, Department, Profile
from .policies import BlackoutWindow, ChangeTemplate, Policy, PolicyStep
from .saved_filters import SavedFilter

__all__ = [
    "ApprovalStep",
    "Attachment",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditSnapshot",
    "AuditVerification",
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
    "SavedFilter",
    "StepApprover",
]
