"""The checks every live answer edit passes before it reaches customers, with a German
sentence for each refusal. The rules are the ones ``python -m bot check`` applies to
domain.yml (:mod:`bot.faq`): messenger length, du-form, every fact of the company's FAQ."""

from __future__ import annotations

from pathlib import Path
from typing import List

from bot.errors import BotError
from bot.faq import MAX_ANSWER_CHARS, addresses_formally, load_topics, missing_facts


class AnswerRefused(BotError):
    """An answer edit or undo was refused; the message is German and says why. Nothing changed."""


def answer_problems(text: str, facts_source: str) -> List[str]:
    """German sentences, one per problem of ``text``; ``facts_source`` is the company's answer
    whose facts it must carry ("" when the topic has none listed)."""
    problems = []
    if not text:
        problems.append("Die Antwort ist leer.")
    if len(text) > MAX_ANSWER_CHARS:
        problems.append(
            f"Die Antwort hat {len(text)} Zeichen, erlaubt sind höchstens {MAX_ANSWER_CHARS} "
            "(Messenger-Länge): bitte kürzen."
        )
    if addresses_formally(text):
        problems.append("Die Antwort siezt („Sie“, „Ihnen“, „Ihr“): Paula duzt die Kundschaft.")
    lost = missing_facts(text, facts_source) if facts_source else []
    if lost:
        listed = ", ".join(f"„{fact}“" for fact in lost)
        problems.append(
            f"Es fehlen Fakten aus company/bergpfad.yml: {listed}. Stimmen sie nicht mehr, "
            "ändere sie zuerst dort."
        )
    return problems


def company_answer(company_file: Path, topic: str) -> str:
    """The company's answer for ``topic`` (the facts an edit must keep), "" if none is listed."""
    if not company_file.is_file():
        return ""
    topics = load_topics(company_file)
    return topics[topic].answer if topic in topics else ""


def check_answer(text: str, company_file: Path, topic: str) -> str:
    """``text`` with its whitespace tidied, or :class:`AnswerRefused` with every problem."""
    cleaned = " ".join(text.split())
    problems = answer_problems(cleaned, company_answer(company_file, topic))
    if problems:
        raise AnswerRefused("Nicht übernommen: " + " ".join(problems))
    return cleaned
