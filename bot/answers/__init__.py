"""FAQ answers edited live: checked edits stored in the support database as overrides on top
of domain.yml, with history and undo, served by the Rasa server's NLG
(:class:`bot.answers.nlg.LiveAnswerGenerator`) within seconds, without retraining."""

from bot.answers._rules import AnswerRefused, check_answer
from bot.answers._service import AnswerRow, answer_table, edit_answer, undo_answer
from bot.answers._store import AnswerEdit, AnswerStore

__all__ = [
    "AnswerEdit",
    "AnswerRefused",
    "AnswerRow",
    "AnswerStore",
    "answer_table",
    "check_answer",
    "edit_answer",
    "undo_answer",
]
