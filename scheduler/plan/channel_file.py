"""A schedule file's channels: the plan's own (top-level ``channels:``) and an
obligation's ``channels:``, where a code or any word plans write for one is
read into its code (see ``channels.py``)."""

from __future__ import annotations

from scheduler.errors import N_
from scheduler.plan.channels import BUILT_IN, CODES, EVIDENCE, EXAMPLE_WORDS, MOMENTS, Channel, code_of, key
from scheduler.plan.production_fields import read_step
from scheduler.plan.yaml_source import Node, Reader

CHANNEL_FIELDS = (("code", "name"), ("name_en", "words", "evidence", "moment", "milestones"))
UNKNOWN = N_('unknown channel "{value}" (allowed: {allowed}; or a word plans write for one, such as {words})')


def read_channels(reader: Reader, root: Node) -> tuple[Channel, ...]:
    """The plan's own channels; a code or a word of a built-in one is refused."""
    found: list[Channel] = []
    taken = {key(w): c.code for c in BUILT_IN for w in (c.code, *c.words)}
    own: dict[str, str] = {}
    for node in reader.texts(root, "channels"):
        if not reader.mapping(node, *CHANNEL_FIELDS):
            continue
        code = reader.code(node.child("code")) if node.has("code") else ""
        if key(code) in taken:
            reader.fail(
                node.child("code"),
                N_('"{value}" names a built-in channel ({channel}); give the plan\'s own channel another code'),
                value=code,
                channel=taken[key(code)],
            )
            continue
        if key(code) in own:
            reader.fail(node.child("code"), N_('duplicate code "{code}"'), code=code)
            continue
        words = []
        for w in reader.texts(node, "words"):
            word = " ".join(str(w.value).split())
            if key(word) in taken or key(word) in own:
                reader.fail(
                    w,
                    N_('"{value}" already names the channel {channel}'),
                    value=word,
                    channel=taken.get(key(word)) or own[key(word)],
                )
            words.append(word)
        evidence = []
        for e in reader.texts(node, "evidence"):
            if str(e.value) not in EVIDENCE:
                reader.fail(
                    e,
                    N_('unknown evidence "{value}" (allowed: {allowed})'),
                    value=e.value,
                    allowed=", ".join(EVIDENCE),
                )
            evidence.append(str(e.value))
        moment = reader.text(node, "moment", "published")
        if moment not in MOMENTS:
            reader.fail(
                node.child("moment"),
                N_('expected one of {allowed}, got "{value}"'),
                allowed=", ".join(MOMENTS),
                value=moment,
            )
        steps = tuple(filter(None, (read_step(reader, n) for n in reader.texts(node, "milestones"))))
        name = reader.text(node, "name")
        if key(name) in taken:
            reader.fail(
                node.child("name"),
                N_('"{value}" already names the channel {channel}'),
                value=name,
                channel=taken[key(name)],
            )
        channel = Channel(
            code,
            name,
            reader.text(node, "name_en"),
            (name, *words),
            tuple(evidence),
            moment,
            milestones=tuple((s.step, s.title, s.title_en, s.offset) for s in steps),
        )
        own.update({key(w): code for w in (code, *channel.words)})
        found.append(channel)
    return tuple(found)


def channel_refs(reader: Reader, node: Node, own: tuple[Channel, ...]) -> tuple[str, ...]:
    """An obligation's channels as codes, each once, in the plan's order."""
    found = []
    allowed = ", ".join((*CODES, *(c.code for c in own)))
    for n in reader.texts(node, "channels"):
        code = code_of(str(n.value), own)
        if code is None:
            reader.fail(n, UNKNOWN, value=n.value, allowed=allowed, words=", ".join(EXAMPLE_WORDS))
        elif code not in found:
            found.append(code)
    if node.has("channels") and not reader.texts(node, "channels"):
        reader.fail(node.child("channels"), N_("give at least one channel ({allowed})"), allowed=allowed)
    return tuple(found)
