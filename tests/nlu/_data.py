"""A small real training set (German, with a retrieval intent) for the NLU component tests."""

from __future__ import annotations

from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.training_data import TrainingData

NLU_YAML = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hallo
    - hi
    - moin
    - guten morgen
    - servus
    - hallo paula
- intent: goodbye
  examples: |
    - tschüss
    - ciao
    - bis bald
    - auf wiedersehen
    - schönen abend noch
    - bye
- intent: faq/returns
  examples: |
    - wie kann ich etwas zurücksenden
    - rücksendung
    - retoure anmelden
    - ich will die jacke zurückschicken
    - wie funktioniert die rücksendung
    - rueckgabe der schuhe
- intent: faq/shipping_costs
  examples: |
    - was kostet der versand
    - versandkosten
    - wie teuer ist die lieferung
    - ab wann ist der versand kostenlos
    - lieferkosten nach österreich
    - porto
- intent: faq/payment_methods
  examples: |
    - wie kann ich bezahlen
    - zahlungsarten
    - geht paypal
    - kann ich auf rechnung zahlen
    - kreditkarte möglich
    - bezahlung mit klarna
"""

RESPONSES = {
    "utter_faq/returns": [{"text": "Rücksendungen sind 30 Tage lang kostenlos."}],
    "utter_faq/shipping_costs": [{"text": "Der Versand kostet 4,95 €, ab 50 € gratis."}],
    "utter_faq/payment_methods": [{"text": "Du kannst mit PayPal, Karte oder Rechnung zahlen."}],
}


def training_data() -> TrainingData:
    data = RasaYAMLReader().reads(NLU_YAML)
    data.responses = dict(RESPONSES)
    return data


def storage(path: Path) -> LocalModelStorage:
    return LocalModelStorage(path)


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


def resource(name: str) -> Resource:
    return Resource(name)
