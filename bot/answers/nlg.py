"""Rasa's response generator with live FAQ answers on top of the model's domain.

Configured in endpoints.yml (the launcher writes it)::

    nlg:
      type: bot.answers.nlg.LiveAnswerGenerator

Every response is rendered by Rasa's own :class:`TemplatedNaturalLanguageGenerator` from the
loaded model's domain (buttons, slots, conditions, channels exactly as without it; Rasa's agent
sets ``responses`` on every model load because this is a subclass). Only the ``text`` of an
``utter_faq/<topic>`` with a live edit is replaced, from an in-memory copy of the support
database's live edits that a background thread refreshes every few seconds: serving never waits
for the database. When the database cannot be read, the last copy read stays in use (domain.yml
answers if none was ever read) and a warning is logged.

An FAQ answer also asks "did it help?" (:mod:`bot.answers.feedback`): 👍/👎 buttons, or on
channels without buttons (WhatsApp) a line asking for "ja"/"nein"; the message's metadata names
the topic (``answer_rating_offer``). Not once the conversation has a rating, not inside a form
(the form's next question follows at once) and not in a paused conversation.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, Optional

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.answers._service import FAQ_RESPONSE
from bot.answers.feedback import (
    OFFER_KEY,
    RATING_BUTTONS,
    RATING_SLOT,
    TYPED_CHANNELS,
    TYPED_QUESTION,
)

logger = logging.getLogger(__name__)


class LiveAnswers:
    """The live edits of one database, kept fresh by a daemon thread."""

    def __init__(self, url: str, refresh_seconds: float) -> None:
        self.url = url
        self.refresh_seconds = max(0.5, refresh_seconds)
        self.answers: Dict[str, str] = {}
        self.loaded = threading.Event()  # set after the first successful read
        self._failing = False
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._store: Any = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="live-faq-answers", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def get(self, topic: str) -> Optional[str]:
        return self.answers.get(topic)

    def refresh(self) -> bool:
        """Read the live edits once (blocking); False (and a logged warning) if that failed."""
        from bot.answers._store import AnswerStore

        try:
            if self._store is None:
                self._store = AnswerStore.open(self.url)
            self.answers = self._store.current_texts()  # one atomic swap of the whole dict
        except Exception as error:  # a background reader must never die
            if not self._failing:
                kept = "the last live answers read" if self.loaded.is_set() else "domain.yml"
                logger.warning("Cannot read live FAQ answers (%s); serving %s until it works "
                               "again", error, kept)
            self._failing = True
            return False
        if self._failing:
            logger.warning("Live FAQ answers readable again (%d edited topics)",
                           len(self.answers))
        self._failing = False
        self.loaded.set()
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.refresh_seconds)


_shared: Dict[str, LiveAnswers] = {}
_shared_lock = threading.Lock()


def live_answers(url: str, refresh_seconds: float) -> LiveAnswers:
    """One running reader per database for the whole process (Rasa builds a new generator for
    every model it loads)."""
    with _shared_lock:
        reader = _shared.get(url)
        if reader is None:
            reader = _shared[url] = LiveAnswers(url, refresh_seconds)
            reader.start()
        return reader


class LiveAnswerGenerator(TemplatedNaturalLanguageGenerator):
    """Domain responses, with live edits of FAQ answers (``utter_faq/<topic>``) on top."""

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        domain: Optional[Domain] = None,
        answers: Optional[LiveAnswers] = None,
    ) -> None:
        super().__init__(domain.responses if domain is not None else {})
        if answers is None:
            from bot.settings import load_settings

            settings = load_settings()
            answers = live_answers(settings.support_db_url, settings.answers_refresh_seconds)
        self.answers = answers

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> Optional[Dict[str, Any]]:
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message is None or not utter_action.startswith(FAQ_RESPONSE):
            return message
        topic = utter_action[len(FAQ_RESPONSE):]
        live = self.answers.get(topic)
        if live is not None:
            message["text"] = live
        if offers_rating(tracker):
            ask_for_rating(message, topic, output_channel)
        return message


def offers_rating(tracker: DialogueStateTracker) -> bool:
    """Whether an FAQ answer in this conversation now asks "did it help?"."""
    return (
        tracker.slots.get(RATING_SLOT) is not None
        and tracker.get_slot(RATING_SLOT) is None
        and tracker.active_loop_name is None
        and not tracker.is_paused()
    )


def ask_for_rating(message: Dict[str, Any], topic: str, output_channel: str) -> None:
    """Add the rating question to an FAQ answer ``message`` (in place)."""
    message[OFFER_KEY] = f"faq/{topic}"
    if output_channel in TYPED_CHANNELS:
        message["text"] = f"{message.get('text') or ''}\n\n{TYPED_QUESTION}".strip()
    else:
        message["buttons"] = list(message.get("buttons") or []) + [dict(b) for b in RATING_BUTTONS]
