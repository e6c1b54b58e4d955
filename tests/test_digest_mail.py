"""What a digest email lists: each conversation once, however its messages interleave."""

from __future__ import annotations

from chatd.services.mailer import by_conversation, compose
from chatd.store.digests import Digest, Item


def test_interleaved_conversations_appear_once_each() -> None:
    def item(cid: str, name: str, at: int, body: str) -> Item:
        return Item(cid, "channel", name, "Amy", at, body)

    # in time order, as the store gives them: ops, dev, ops, dev, ops
    items = [
        item("c-ops", "ops", 1_000, "ops one"),
        item("c-dev", "dev", 2_000, "dev one"),
        item("c-ops", "ops", 3_000, "ops two"),
        item("c-dev", "dev", 4_000, "dev two"),
        item("c-ops", "ops", 5_000, "ops three"),
    ]
    grouped = by_conversation(items)
    assert [[i.body for i in group] for group in grouped] == [
        ["ops one", "ops two", "ops three"],
        ["dev one", "dev two"],
    ]
    # conversations by their first unread item, items by time, whatever order they come in
    shuffled = by_conversation(list(reversed(items)))
    assert [[i.body for i in group] for group in shuffled] == [
        ["ops one", "ops two", "ops three"],
        ["dev one", "dev two"],
    ]
    mail = compose(
        Digest("u", "dee@example.test", "dee", items),
        "https://chat.example.test",
        "chatd <chatd@chat.example.test>",
        "https://chat.example.test/api/v1/email/unsubscribe?x",
    )
    assert mail["Subject"] == "5 unread messages on chatd"
    plain = mail.get_body(("plain",))
    rich = mail.get_body(("html",))
    assert plain is not None and rich is not None
    text, markup = plain.get_content(), rich.get_content()
    for where, link in (("#ops", "/#/c/c-ops"), ("#dev", "/#/c/c-dev")):
        assert text.count(f"{where} (https://chat.example.test{link})") == 1
        assert markup.count(f'href="https://chat.example.test{link}"') == 1
    assert text.index("#ops (") < text.index("ops three") < text.index("#dev (")
    assert text.index("#dev (") < text.index("dev one") < text.index("dev two")
