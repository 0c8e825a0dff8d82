"""``check`` reports what trainers trip over, with the offending pair or name shown."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.trainer import Project, add_examples, add_faq, check
from bot.trainer._edit import _Pending, _response
from bot.trainer._yaml import literal_lines


def test_the_fixture_bot_has_no_errors(project: Project) -> None:
    report = check(project, validate=False)
    assert report.errors == []


def test_near_duplicate_under_two_topics_is_shown_with_the_pair(project: Project) -> None:
    add_examples(project, "faq/delivery_time", ["wie lange dauert der versand nach wien"])
    # add_examples refuses this; a trainer editing the YAML by hand is not stopped
    add_examples(project, "faq/shipping_costs", ["porto nach wien"])
    faq = project.nlu_dir / "faq.yml"
    faq.write_text(faq.read_text(encoding="utf-8").replace(
        "    - porto nach wien\n",
        "    - porto nach wien\n    - wie lange dauert der versand nach wien denn\n"),
        encoding="utf-8")
    findings = check(project, validate=False).of_kind("duplicate")
    assert [f.level for f in findings] == ["warning"]
    message = findings[0].message
    assert message.startswith("near-same examples (")
    assert "faq/delivery_time: 'wie lange dauert der versand nach wien'" in message
    assert "faq/shipping_costs: 'wie lange dauert der versand nach wien denn'" in message
    add_examples(project, "faq/return_policy", ["kanu zurückgeben"])
    faq.write_text(faq.read_text(encoding="utf-8").replace(
        "    - kanu zurückgeben\n", "    - kanu zurückgeben\n    - Lieferzeit??\n"),
        encoding="utf-8")
    exact = check(project, validate=False).of_kind("duplicate")[0]
    assert exact.level == "error"
    assert "the same example under two labels" in exact.message


def test_answer_problems_and_few_examples(project: Project) -> None:
    pending = _Pending()
    domain = pending.open(project.domain)
    domain["responses"]["utter_faq/return_policy"] = _response("Rücksendung " + "x" * 400)
    domain["responses"]["utter_unused_thing"] = _response("Niemand sagt das.")
    faq = pending.open(project.nlu_dir / "faq.yml")
    faq["nlu"].append({"intent": "faq/no_answer", "examples": literal_lines(["a b c", "d e f"])})
    pending.write()
    report = check(project, validate=False)
    messages = "\n".join(str(f) for f in report.findings)
    assert "utter_faq/return_policy has 412 characters" in messages
    assert "faq/no_answer has examples but no answer utter_faq/no_answer" in messages
    assert "faq/no_answer has only 2 examples" in messages
    assert "utter_unused_thing is never used" in messages
    assert "faq/no_answer has no entry in actions/topics.yml" in messages


def test_missing_facts_against_the_company_file(project: Project) -> None:
    (project.root / "company").mkdir()
    (project.root / "company" / "bergpfad.yml").write_text(
        "topics:\n  - id: shipping_costs\n    question: Was kostet der Versand?\n"
        "    answer: Der Versand kostet 4,95 €, ab 50 € ist er kostenlos, per DHL.\n",
        encoding="utf-8",
    )
    pending = _Pending()
    pending.open(project.domain)["responses"]["utter_faq/shipping_costs"] = _response(
        "Der Versand kostet 4,95 €.")
    pending.write()
    findings = check(project, validate=False).of_kind("missing-facts")
    assert [f.message for f in findings] == [
        "utter_faq/shipping_costs lacks the facts: 50 €, DHL"]


@pytest.mark.slow
def test_cli_check_runs_rasa_validate_and_fails_on_errors(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    add_faq(project, "gift_wrapping", "Ja, wir verpacken das gern als Geschenk.",
            ["als geschenk verpacken", "geschenkpapier", "geschenkverpackung",
             "hübsch einpacken", "verpackt ihr geschenke"])
    assert main(["check", "--project", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert "0 error(s)" in out
    with project.rules.open("a", encoding="utf-8") as rules:
        rules.write("\n- rule: broken\n  steps:\n  - intent: not_declared_intent\n"
                    "  - action: utter_greet\n")
    assert main(["check", "--project", str(project.root)]) == 1
    assert "ERROR   [rasa-validate] The intent 'not_declared_intent' is used in your stories, " \
        "but it is not listed in the domain file" in capsys.readouterr().out
    project.rules.write_text("rules: [unclosed\n", encoding="utf-8")
    assert main(["check", "--project", str(project.root)]) in (1, 2)
