"""Trainer sub-commands of ``python -m bot``: faq (add, edit, history, undo), intent, examples,
check, review, evaluate, ship, rollback."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, List

from bot.settings import Settings
from bot.trainer._edit import EditResult
from bot.trainer._project import Project, TrainerError, read_lines_file


def _project(args: argparse.Namespace, settings: Settings) -> Project:
    root = Path(args.project).resolve() if args.project else settings.root
    if not (root / "domain.yml").is_file():
        raise TrainerError(f"{root} has no domain.yml: pass --project with the bot's folder")
    return Project(root)


def _examples(args: argparse.Namespace) -> List[str]:
    file = Path(args.examples_file) if args.examples_file else None
    return list(args.example or []) + read_lines_file(file)


def _print_edit(project: Project, result: EditResult, what: str) -> None:
    print(f"{what}: {len(result.added_examples)} example(s) added")
    for path in result.changed:
        print(f"  wrote {project.relative(path)}")
    if result.skipped_examples:
        print(f"  already there: {len(result.skipped_examples)} example(s)")
    for note in result.notes:
        print(f"  note: {note}")


def _file(project: Project, value: str | None) -> Path | None:
    return (project.root / value) if value else None


def _faq_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.trainer._edit import add_faq

    project = _project(args, settings)
    result = add_faq(project, args.topic, args.answer, _examples(args), question=args.question,
                     title=args.title, nlu_file=_file(project, args.file))
    _print_edit(project, result, f"FAQ topic faq/{args.topic} added")
    print("Next: `python -m bot check`, then `python -m bot ship`.")
    return 0


def _author(args: argparse.Namespace) -> str:
    if args.by:
        return str(args.by)
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _answer_store(settings: Settings) -> Any:
    from bot.answers import AnswerStore

    return AnswerStore.open(settings.support_db_url)


def _faq_edit(args: argparse.Namespace, settings: Settings) -> int:
    from bot.answers import edit_answer

    project = _project(args, settings)
    store = _answer_store(settings)
    try:
        version = edit_answer(project.root, store, args.topic, args.answer, _author(args))
    finally:
        store.close()
    print(f"utter_faq/{args.topic}: the new answer is live (edit #{version.id} by "
          f"{version.author}, {_when(version.created_at)}); the running bot serves it within "
          f"{settings.answers_refresh_seconds:.0f} s, no training needed.")
    if args.write_domain:
        from bot.trainer._edit import set_faq_answer

        path = set_faq_answer(project, args.topic, version.text)
        print(f"  wrote {project.relative(path)} (the next training includes it)")
    print(f"Undo with `python -m bot faq undo {args.topic}`.")
    return 0


def _faq_history(args: argparse.Namespace, settings: Settings) -> int:
    from bot.answers._service import domain_answers

    project = _project(args, settings)
    answers = domain_answers(project.root)
    if args.topic not in answers:
        raise TrainerError(f"domain.yml has no answer utter_faq/{args.topic}")
    store = _answer_store(settings)
    try:
        history = store.history(args.topic)
    finally:
        store.close()
    live = next((version for version in history if version.undone_at is None), None)
    print(f"utter_faq/{args.topic}: customers get "
          + (f"edit #{live.id}" if live else "the answer from domain.yml"))
    for version in history[: args.limit]:
        state = "LIVE" if version is live else (
            f"undone {_when(version.undone_at)} by {version.undone_by}"
            if version.undone_at else "replaced")
        print(f"#{version.id}  {_when(version.created_at)}  by {version.author}  [{state}]")
        print(f"    {version.text}")
    if not history:
        print("  no live edits yet")
    print(f"domain.yml: {answers[args.topic]}")
    return 0


def _faq_undo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.answers import undo_answer

    project = _project(args, settings)
    store = _answer_store(settings)
    try:
        restored = undo_answer(project.root, store, args.topic, _author(args))
    finally:
        store.close()
    source = f"edit #{restored.id} by {restored.author}" if restored else "the domain.yml answer"
    print(f"utter_faq/{args.topic}: undone; customers get {source} again within "
          f"{settings.answers_refresh_seconds:.0f} s.")
    return 0


def _faq_fold(args: argparse.Namespace, settings: Settings) -> int:
    from bot.answers import AnswerRefused, check_answer
    from bot.answers._service import domain_answers
    from bot.trainer._edit import set_faq_answers

    project = _project(args, settings)
    store = _answer_store(settings)
    try:
        live = store.current_texts()
    finally:
        store.close()
    in_domain = domain_answers(project.root)
    chosen = args.topic or sorted(live)
    unknown = [topic for topic in chosen if topic not in live]
    if unknown:
        raise TrainerError(f"no live edit for: {', '.join(unknown)} (see `faq history TOPIC`)")
    changes = {}
    for topic in chosen:
        if in_domain.get(topic) != live[topic]:
            try:
                changes[topic] = check_answer(live[topic], project.company, topic)
            except AnswerRefused as refused:
                raise TrainerError(f"{topic}: {refused} Nothing written.") from None
    if not changes:
        print("domain.yml already has every live answer; nothing to write.")
        return 0
    path = set_faq_answers(project, changes)
    print(f"wrote {len(changes)} answer(s) into {project.relative(path)}: {', '.join(changes)}")
    print("The live edits stay (they now equal domain.yml); commit domain.yml as usual.")
    return 0


def _faq_helpfulness(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from bot.answers.feedback import MIN_RATINGS, read_helpfulness
    from bot.models import utcnow

    since = utcnow() - timedelta(days=args.days) if args.days else None
    rows = read_helpfulness(settings.support_db_url, since)
    if not rows:
        print("No answer ratings yet" + (f" in the last {args.days} days." if args.days else "."))
        return 0
    print(f"Did the answer help? Weakest first (share shown from {MIN_RATINGS} ratings on; "
          "sorted by the upper 95 % Wilson bound of the helpful share)")
    print(f"{'topic':<28} {'👍':>4} {'👎':>4} {'n':>4} {'helped':>7} {'at most':>8}")
    for row in rows[: args.limit]:
        share = f"{row.share * 100:.0f} %" if row.enough else "–"
        upper = f"{row.upper_bound * 100:.0f} %" if row.enough else "–"
        print(f"{row.topic.removeprefix('faq/'):<28} {row.helpful:>4} {row.unhelpful:>4} "
              f"{row.total:>4} {share:>7} {upper:>8}")
    return 0


def _intent_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.trainer._edit import add_intent

    project = _project(args, settings)
    result = add_intent(project, args.name, _examples(args), answer=args.answer,
                        handoff=args.handoff, nlu_file=_file(project, args.file))
    _print_edit(project, result, f"intent {args.name} added")
    return 0


def _examples_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.trainer._edit import add_examples

    project = _project(args, settings)
    examples = _examples(args)
    if not examples:
        raise TrainerError("no examples given (-e TEXT or --examples-file FILE)")
    result = add_examples(project, args.label, examples)
    _print_edit(project, result, args.label)
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.trainer._check import check

    project = _project(args, settings)
    print("Checking the training data" + (" (with rasa data validate) …" if args.rasa else " …"),
          flush=True)
    report = check(project, validate=args.rasa, min_examples=args.min_examples)
    for finding in report.findings:
        print(finding)
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    if report.errors or (args.strict and report.warnings):
        return 1
    return 0


def _queue(args: argparse.Namespace, settings: Settings) -> Any:
    from bot.trainer._review import ReviewQueue

    return ReviewQueue(_project(args, settings), args.tracker_db or settings.tracker_db_url,
                       settings.support_db_url)


def _review_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.trainer._review import REASON_LABELS

    queue = _queue(args, settings)
    try:
        groups = queue.groups()
    finally:
        queue.close()
    if not groups:
        print("The review queue is empty: nothing the bot missed is waiting.")
        return 0
    print(f"{len(groups)} group(s), {sum(g.count for g in groups)} message(s); most frequent first")
    for group in groups[: args.limit]:
        guess, confidence = group.guess
        reasons = ", ".join(REASON_LABELS[r] for r in group.reasons)
        hint = f"  (bot guessed {guess} {confidence:.2f})" if guess else ""
        print(f"{group.id}  {group.count:3}x  [{reasons}]  {group.text!r}{hint}")
    print("Label with `python -m bot review label ID --as LABEL` (or --out-of-scope, --ignore, "
          "--new-faq TOPIC --answer ..., --new-intent NAME)")
    return 0


def _review_show(args: argparse.Namespace, settings: Settings) -> int:
    queue = _queue(args, settings)
    try:
        group = queue.find(args.group)
    finally:
        queue.close()
    guess, confidence = group.guess
    print(f"Group {group.id}: {group.count} message(s)"
          + (f"; bot guessed {guess} ({confidence:.2f})" if guess else ""))
    for message in group.messages:
        when = f"{message.at:%Y-%m-%d %H:%M}" if message.at else "?"
        print(f"  {when}  [{message.reason}]  {message.text!r}")
        for who, text in message.context[-3:]:
            print(f"      before, {who}: {text}")
    for reply in group.agent_replies:
        print(f"  suggestion (agent's answer after handoff): {reply}")
    return 0


def _review_label(args: argparse.Namespace, settings: Settings) -> int:
    queue = _queue(args, settings)
    project = queue.project
    try:
        if args.ignore:
            queue.ignore(args.group, by=args.by)
            print(f"Group {args.group} ignored (no training data).")
            return 0
        if args.new_faq:
            if not args.answer:
                raise TrainerError("--new-faq needs --answer TEXT")
            result = queue.new_faq(args.group, args.new_faq, args.answer, by=args.by,
                                   question=args.question)
            what = f"new FAQ topic faq/{args.new_faq}"
        elif args.new_intent:
            result = queue.new_intent(args.group, args.new_intent, answer=args.answer,
                                      by=args.by)
            what = f"new intent {args.new_intent}"
        else:
            label = "out_of_scope" if args.out_of_scope else args.label
            if not label:
                raise TrainerError(
                    "say what the messages are: --as LABEL, --out-of-scope, --ignore, "
                    "--new-faq TOPIC or --new-intent NAME"
                )
            result = queue.label(args.group, label, by=args.by)
            what = label
    finally:
        queue.close()
    _print_edit(project, result, what)
    return 0


def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.trainer._report import write
    from bot.trainer._ship import History, evaluate_model
    from bot.training import model_path

    project = _project(args, settings)
    model = Path(args.model) if args.model else model_path(settings.model_dir)
    history = History.open(settings.model_dir)
    current = history.current()
    if not args.model and current is not None:
        model = Path(current["model"])
    if not model.is_file():
        raise TrainerError(f"no model at {model}: train first (`python -m bot train`)")
    heldout = Path(args.heldout) if args.heldout else project.heldout
    baseline = current.get("metrics") if current else None
    baseline_name = Path(current["model"]).name if current else ""
    if current and Path(current["model"]).resolve() == model.resolve():
        baseline, baseline_name = current.get("baseline_metrics"), "the model shipped before it"
    print(f"Evaluating {model.name} on {heldout} …", flush=True)
    started = time.monotonic()
    evaluation = evaluate_model(project, model, heldout, baseline, baseline_name)
    out = Path(args.out) if args.out else settings.var_dir / "trainer" / "report"
    files = write(evaluation, out)
    print(files["markdown"].read_text(encoding="utf-8"))
    print(f"Report: {files['html']}  ({time.monotonic() - started:.0f} s)")
    return 0


def _server(settings: Settings) -> Any:
    from bot.trainer._ship import RasaCluster, RasaServer

    if not settings.rasa_token:
        raise TrainerError("RASA_TOKEN is not set: shipping needs the Rasa HTTP API token")
    if len(settings.rasa_instances) > 1:  # RASA_INSTANCE_URLS: every instance gets the model
        return RasaCluster([RasaServer(url, settings.rasa_token)
                            for url in settings.rasa_instances])
    return RasaServer(settings.rasa_instances[0], settings.rasa_token)


def _ship(args: argparse.Namespace, settings: Settings) -> int:
    from bot.trainer._ship import ship

    project = _project(args, settings)
    outcome = ship(
        project, _server(settings), settings.model_dir, tolerance=args.tolerance,
        heldout=Path(args.heldout) if args.heldout else None, config=args.config,
        report_dir=settings.var_dir / "trainer" / "report",
    )
    m = outcome.candidate_metrics
    print(f"Candidate: FAQ accuracy {m['faq_accuracy']:.1%}, out-of-scope safe "
          f"{m['out_of_scope_safe_rate']:.1%}, wrong answers {m['faq_wrong_answer_rate']:.1%}")
    if outcome.baseline_metrics:
        b = outcome.baseline_metrics
        print(f"Running:   FAQ accuracy {b['faq_accuracy']:.1%}, out-of-scope safe "
              f"{b['out_of_scope_safe_rate']:.1%}  ({outcome.baseline})")
    if not outcome.shipped:
        print("NOT shipped, the running model stays:")
        for reason in outcome.reasons:
            print(f"  - {reason}")
        print(f"Refused {outcome.timing()}.")
        return 1
    print(f"Shipped {outcome.candidate.name}: new examples live {outcome.timing()}. "
          "Undo with `python -m bot rollback`.")
    return 0


def _rollback(args: argparse.Namespace, settings: Settings) -> int:
    from bot.trainer._ship import rollback

    previous = rollback(_server(settings), settings.model_dir)
    print(f"Rolled back: the server runs {previous.name} again.")
    return 0


def _project_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", metavar="DIR",
                        help="the bot's folder (default: this checkout)")


def _example_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", "--example", action="append", metavar="TEXT",
                        help="an example message, as a customer would write it (repeatable)")
    parser.add_argument("--examples-file", metavar="FILE",
                        help="a text file with one example per line")
    parser.add_argument("--file", metavar="PATH",
                        help="NLU file to write to, relative to the project (default: "
                             "the last data/nlu/faq*.yml, or data/nlu/conversation.yml)")
    _project_option(parser)


def add_commands(subparsers: Any) -> None:
    faq = subparsers.add_parser("faq", help="FAQ topics (questions the bot answers)")
    faq_commands = faq.add_subparsers(dest="faq_command", required=True, metavar="ACTION")
    add = faq_commands.add_parser(
        "add", help="add a FAQ topic: examples, answer, ask-back button",
        description="Adds faq/TOPIC to data/nlu, utter_faq/TOPIC to domain.yml and a button "
                    "to actions/topics.yml. Nothing is written if anything is wrong.")
    add.add_argument("topic", help="topic id: lowercase letters, digits, _ (e.g. gift_wrapping)")
    add.add_argument("--answer", required=True, help="the answer (German, du-form, ≤ 400 chars)")
    add.add_argument("--question", help="canonical question, sent when the ask-back button is "
                                        "tapped (default: the first example)")
    add.add_argument("--title", help="short button title for the ask-back (default: question)")
    _example_options(add)
    add.set_defaults(handler=_faq_add)
    edit = faq_commands.add_parser(
        "edit", help="change a FAQ answer in the running bot (live in seconds, no training)",
        description="Checks the answer (at most 400 characters, du-form, every fact that "
                    "company/bergpfad.yml lists for the topic) and stores it in the support "
                    "database as the live answer on top of domain.yml. Nothing changes if a "
                    "check fails.")
    edit.add_argument("topic", help="topic id (utter_faq/TOPIC in domain.yml)")
    edit.add_argument("--answer", required=True, help="the new answer (German, du-form)")
    edit.add_argument("--by", help="who edits (default: your OS user name)")
    edit.add_argument("--write-domain", action="store_true",
                      help="also write the answer into domain.yml (the source for new clones "
                           "and the next training)")
    _project_option(edit)
    edit.set_defaults(handler=_faq_edit)
    history = faq_commands.add_parser("history", help="who changed a FAQ answer when")
    history.add_argument("topic", help="topic id")
    history.add_argument("--limit", type=int, default=20, help="show at most N edits")
    _project_option(history)
    history.set_defaults(handler=_faq_history)
    undo = faq_commands.add_parser(
        "undo", help="take back the last live edit of a FAQ answer")
    undo.add_argument("topic", help="topic id")
    undo.add_argument("--by", help="who undoes (default: your OS user name)")
    _project_option(undo)
    undo.set_defaults(handler=_faq_undo)
    fold = faq_commands.add_parser(
        "fold", help="write live answer edits into domain.yml (for commits and new clones)",
        description="Writes the live text of every edited topic (or of the topics given) into "
                    "domain.yml, each checked against today's facts; nothing is written if one "
                    "fails.")
    fold.add_argument("topic", nargs="*", help="topic ids (default: every topic with a live edit)")
    _project_option(fold)
    fold.set_defaults(handler=_faq_fold)
    helped = faq_commands.add_parser(
        "helpfulness", help="customers' 👍/👎 per FAQ answer, weakest first",
        description="Counts the customers' ratings (\"did it help?\" after an FAQ answer) per "
                    "topic from the support database, the surely weakest answers first.")
    helped.add_argument("--days", type=int, default=0,
                        help="only ratings of the last N days (default: all)")
    helped.add_argument("--limit", type=int, default=50, help="show at most N topics")
    helped.set_defaults(handler=_faq_helpfulness)

    intent = subparsers.add_parser("intent", help="intents (what customers want)")
    intent_commands = intent.add_subparsers(dest="intent_command", required=True,
                                            metavar="ACTION")
    add = intent_commands.add_parser("add", help="add an intent with examples")
    add.add_argument("name", help="intent name: lowercase letters, digits, _")
    reply = add.add_mutually_exclusive_group()
    reply.add_argument("--answer", help="answer with this text (adds utter_NAME and a rule)")
    reply.add_argument("--handoff", action="store_true",
                       help="hand such conversations to the team (adds a rule)")
    _example_options(add)
    add.set_defaults(handler=_intent_add)

    examples = subparsers.add_parser("examples", help="training examples")
    example_commands = examples.add_subparsers(dest="examples_command", required=True,
                                               metavar="ACTION")
    add = example_commands.add_parser("add", help="add examples to an intent or FAQ topic")
    add.add_argument("label", help="intent name or faq/<topic>")
    _example_options(add)
    add.set_defaults(handler=_examples_add)

    check = subparsers.add_parser(
        "check", help="check the training data (duplicates, answers, facts, rasa validate)")
    check.add_argument("--no-rasa", dest="rasa", action="store_false",
                       help="skip `rasa data validate` (about 10 s)")
    check.add_argument("--min-examples", type=int, default=5, metavar="N",
                       help="warn about intents/topics with fewer examples (default 5)")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    _project_option(check)
    check.set_defaults(handler=_check)

    review = subparsers.add_parser("review", help="messages the bot did not understand")
    review.add_argument("--tracker-db", metavar="URL",
                        help="tracker store URL (default: TRACKER_DB_URL / var/tracker.db)")
    _project_option(review)
    review_commands = review.add_subparsers(dest="review_command", required=True,
                                            metavar="ACTION")
    listing = review_commands.add_parser("list", help="the queue, grouped, most frequent first")
    listing.add_argument("--limit", type=int, default=30, help="show at most N groups")
    listing.set_defaults(handler=_review_list)
    show = review_commands.add_parser("show", help="a group's messages and suggestions")
    show.add_argument("group", help="group id from `review list`")
    show.set_defaults(handler=_review_show)
    label = review_commands.add_parser(
        "label", help="turn a group into training data (personal data is masked)")
    label.add_argument("group", help="group id from `review list`")
    choice = label.add_mutually_exclusive_group()
    choice.add_argument("--as", dest="label", metavar="LABEL",
                        help="an existing intent or faq/<topic>")
    choice.add_argument("--out-of-scope", action="store_true",
                        help="not something the bot should answer")
    choice.add_argument("--ignore", action="store_true", help="drop it, no training data")
    choice.add_argument("--new-faq", metavar="TOPIC", help="create a new FAQ topic from it")
    choice.add_argument("--new-intent", metavar="NAME", help="create a new intent from it")
    label.add_argument("--answer", help="answer for --new-faq / --new-intent")
    label.add_argument("--question", help="canonical question for --new-faq")
    label.add_argument("--by", default="cli", help="who labelled (stored with the label)")
    label.set_defaults(handler=_review_label)

    evaluate = subparsers.add_parser(
        "evaluate", help="measure a model on the held-out split; HTML + Markdown report")
    evaluate.add_argument("--model", metavar="PATH",
                          help="model file (default: the shipped one, else models/bergpfad)")
    evaluate.add_argument("--heldout", metavar="PATH", help="labelled examples (default "
                                                            "eval/heldout.yml)")
    evaluate.add_argument("--out", metavar="DIR", help="report folder (default "
                                                       "var/trainer/report)")
    _project_option(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    ship = subparsers.add_parser(
        "ship", help="train, evaluate, and load into the running bot if it is no worse")
    ship.add_argument("--tolerance", type=float, default=0.02, metavar="X",
                      help="allowed drop of FAQ accuracy / out-of-scope safe rate "
                           "(fraction, default 0.02 = 2 points)")
    ship.add_argument("--heldout", metavar="PATH", help="labelled examples (default "
                                                        "eval/heldout.yml)")
    ship.add_argument("--config", default="config.yml", help="Rasa config (default config.yml)")
    _project_option(ship)
    ship.set_defaults(handler=_ship)

    subparsers.add_parser(
        "rollback", help="load the previously shipped model back into the running bot"
    ).set_defaults(handler=_rollback)
