"""Trainer workflow: add FAQ topics and intents, check the data, review what the bot missed,
evaluate and ship models. ``python -m bot faq|intent|examples|check|review|evaluate|ship``."""

from bot.trainer._check import CheckReport, Finding, check
from bot.trainer._edit import EditResult, add_examples, add_faq, add_intent
from bot.trainer._masking import mask_pii
from bot.trainer._project import Project, TrainerError, load_training_data
from bot.trainer._report import Evaluation, label_scores
from bot.trainer._review import Group, Missed, ReviewQueue
from bot.trainer._ship import (
    RasaCluster,
    RasaServer,
    RasaServerError,
    ShipOutcome,
    rollback,
    ship,
)

__all__ = [
    "CheckReport",
    "EditResult",
    "Evaluation",
    "Finding",
    "Group",
    "Missed",
    "Project",
    "RasaCluster",
    "RasaServer",
    "RasaServerError",
    "ReviewQueue",
    "ShipOutcome",
    "TrainerError",
    "add_examples",
    "add_faq",
    "add_intent",
    "check",
    "label_scores",
    "load_training_data",
    "mask_pii",
    "rollback",
    "ship",
]
