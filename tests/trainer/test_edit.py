"""faq add / intent add / examples add on a copy of the fixture bot: well-formed entries,
comments and order preserved, duplicates and bad ids refused without touching any file."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest
import yaml

from bot.cli import main
from bot.trainer import Project, TrainerError, add_examples, add_faq, add_intent, load_training_data

ANSWER = "Ja, für 3,50 € verpacken wir deine Bestellung als Geschenk 🎁"
EXAMPLES = [
    "könnt ihr das als geschenk verpacken",
    "geschenkverpackung möglich?",
    "bietet ihr geschenkpapier an",
    "kann man die bestellung hübsch einpacken lassen",
    "ist das paket dann als geschenk verpackt",
]


def snapshot(project: Project) -> Dict[str, str]:
    return {
        str(path.relative_to(project.root)): path.read_text(encoding="utf-8")
        for path in sorted(project.root.rglob("*.yml"))
    }


def test_faq_add_writes_all_three_files_and_keeps_everything_else(project: Project) -> None:
    before = snapshot(project)
    result = add_faq(project, "gift_wrapping", ANSWER, EXAMPLES,
                     question="Verpackt ihr als Geschenk?", title="Geschenkverpackung")
    after = snapshot(project)
    assert {project.relative(p) for p in result.changed} == {
        "data/nlu/faq.yml", "domain.yml", "actions/topics.yml"}
    # Only additions: every original line is still there, in the same order.
    for name in result.changed:
        old, new = before[project.relative(name)], after[project.relative(name)]
        assert new.startswith(old.rstrip("\n")), project.relative(name)
    domain_text = after["domain.yml"]
    assert "# Paula, the digital assistant" in domain_text  # comments survive
    assert '  utter_faq/gift_wrapping:\n  - text: "Ja, für 3,50 € verpacken wir deine ' \
           'Bestellung als Geschenk 🎁"\n' in domain_text
    assert "\n  - greet\n" in domain_text  # the intents list keeps its own indentation
    data = load_training_data(project)
    assert data.examples_of("faq/gift_wrapping") == ["Verpackt ihr als Geschenk?", *EXAMPLES]
    assert data.responses["utter_faq/gift_wrapping"] == [ANSWER]
    topics = yaml.safe_load(after["actions/topics.yml"])
    assert topics["gift_wrapping"] == {"title": "Geschenkverpackung",
                                       "question": "Verpackt ihr als Geschenk?"}
    assert after["actions/topics.yml"].startswith("# Ask-back buttons of the fixture bot.")
    # Rasa reads it.
    from rasa.shared.nlu.training_data.loading import load_data

    assert "faq/gift_wrapping" in {
        m.get_full_intent() for m in load_data(str(project.nlu_dir / "faq.yml")).intent_examples}


@pytest.mark.parametrize(
    ("topic", "answer", "examples", "message"),
    [
        ("delivery_time", ANSWER, EXAMPLES, "already exists in data/nlu/faq.yml"),
        ("Gift-Wrapping", ANSWER, EXAMPLES, "not a valid FAQ topic id"),
        ("gift_wrapping", "Können Sie das als Geschenk verpacken? Ja, das machen wir gern.",
         EXAMPLES, "'du'"),
        ("gift_wrapping", "x" * 401, EXAMPLES, "at most 400"),
        ("gift_wrapping", ANSWER, ["nur eins"], "at least 2"),
        ("gift_wrapping", ANSWER, EXAMPLES + ["lieferzeit?"],
         "'lieferzeit?' is already an example of faq/delivery_time"),
    ],
)
def test_faq_add_refuses_and_writes_nothing(
    project: Project, topic: str, answer: str, examples: list[str], message: str
) -> None:
    before = snapshot(project)
    with pytest.raises(TrainerError, match=message.replace("?", r"\?")):
        add_faq(project, topic, answer, examples)
    assert snapshot(project) == before


def test_intent_add_with_answer_adds_intent_response_and_rule(project: Project) -> None:
    result = add_intent(project, "ask_vouchers_b2b",
                        ["habt ihr firmengutscheine", "gutscheine für mitarbeiter"],
                        answer="Für Firmen gibt es Gutscheine ab 20 Stück, schreib uns einfach.")
    assert {project.relative(p) for p in result.changed} == {
        "data/nlu/conversation.yml", "domain.yml", "data/stories/rules.yml"}
    domain = yaml.safe_load(project.domain.read_text(encoding="utf-8"))
    assert "ask_vouchers_b2b" in domain["intents"]
    assert domain["responses"]["utter_ask_vouchers_b2b"][0]["text"].startswith("Für Firmen")
    rules = yaml.safe_load(project.rules.read_text(encoding="utf-8"))["rules"]
    assert rules[-1]["steps"] == [{"intent": "ask_vouchers_b2b"},
                                  {"action": "utter_ask_vouchers_b2b"}]
    # the untouched rules keep "active_loop: null" literally
    assert "active_loop: null" in project.rules.read_text(encoding="utf-8")


def test_intent_add_refuses_existing_and_reserved(project: Project) -> None:
    with pytest.raises(TrainerError, match="already exists"):
        add_intent(project, "greet", ["hallo du", "moin moin moin"])
    with pytest.raises(TrainerError, match="reserved"):
        add_intent(project, "nlu_fallback", ["a b", "c d"])


def test_examples_add_skips_known_and_refuses_other_labels(project: Project) -> None:
    known = load_training_data(project).examples_of("faq/shipping_costs")[0]
    result = add_examples(project, "faq/shipping_costs", [known, "porto nach wien"])
    assert result.added_examples == ["porto nach wien"]
    assert result.skipped_examples == [known]
    with pytest.raises(TrainerError, match="already an example of faq/shipping_costs"):
        add_examples(project, "faq/delivery_time", ["porto nach wien"])
    with pytest.raises(TrainerError, match="neither an intent nor a FAQ topic"):
        add_examples(project, "faq/unknown", ["x y"])


def test_cli_faq_add_and_error_is_one_line(project: Project, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    examples = tmp_path / "examples.txt"
    examples.write_text("# questions\n- " + "\n- ".join(EXAMPLES) + "\n", encoding="utf-8")
    code = main(["faq", "add", "gift_wrapping", "--project", str(project.root),
                 "--answer", ANSWER, "--examples-file", str(examples),
                 "--title", "Geschenkverpackung"])
    assert code == 0
    assert "faq/gift_wrapping added: 5 example(s)" in capsys.readouterr().out
    code = main(["faq", "add", "gift_wrapping", "--project", str(project.root),
                 "--answer", ANSWER, "-e", "a b", "-e", "c d"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "already exists" in err


def test_faq_edit_write_domain_changes_only_that_answer_line(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`faq edit --write-domain`: live edit recorded and domain.yml's answer replaced, the rest
    of domain.yml byte for byte as it was."""
    new = "In Deutschland ist deine Bestellung in 2–4 Werktagen bei dir, in Österreich und der " \
          "Schweiz in 4–7 Werktagen."
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path / "var"))
    before = project.domain.read_text(encoding="utf-8").splitlines()
    code = main(["faq", "edit", "delivery_time", "--answer", new, "--by", "mia",
                 "--write-domain", "--project", str(project.root)])
    assert code == 0, capsys.readouterr().err
    after = project.domain.read_text(encoding="utf-8").splitlines()
    changed = [(old, line) for old, line in zip(before, after, strict=True) if old != line]
    assert len(changed) == 1 and changed[0][1] == f'  - text: "{new}"'
    assert load_training_data(project).responses["utter_faq/delivery_time"] == [new]
    assert "edit #1 by mia" in capsys.readouterr().out


def test_faq_fold_writes_the_live_edits_into_domain_yml(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    edits = {
        "delivery_time": "Deine Bestellung ist in Deutschland in 2–4 Werktagen da, in Österreich "
                         "und der Schweiz in 4–7 Werktagen.",
        "return_policy": "Du kannst alles innerhalb von 30 Tagen kostenlos zurückschicken.",
    }
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path / "var"))
    root = ["--project", str(project.root)]
    for topic, text in edits.items():
        assert main(["faq", "edit", topic, "--answer", text, *root]) == 0
    before = load_training_data(project).responses
    assert before["utter_faq/delivery_time"] != [edits["delivery_time"]]
    assert main(["faq", "fold", *root]) == 0
    after = load_training_data(project).responses
    assert {topic: after[f"utter_faq/{topic}"] for topic in edits} == \
        {topic: [text] for topic, text in edits.items()}
    assert after["utter_faq/shipping_costs"] == before["utter_faq/shipping_costs"]
    capsys.readouterr()
    assert main(["faq", "fold", *root]) == 0
    assert "nothing to write" in capsys.readouterr().out
