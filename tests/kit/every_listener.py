"""Every listener a Bolt app has, each reached by a request built for it: for tests that must hold for all of them
(a listener added later is covered without anyone remembering to add it).

``RecordingApp`` is Bolt's ``App`` noting what each registration asked for (``build_app(..., app_class=...)``);
``attempts`` turns those into requests from a ``ConnectGuest``, replaying what the host's own screens offered where
there is one (the Home tab's menus, the wizard's stages, the list's buttons, the modals) and made up otherwise;
``unreached`` checks them against the app's own listener registry, by Bolt's own matching.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterator

from slack_bolt import App, BoltRequest, BoltResponse

from tests.kit.connect import SHARED_CHANNEL, ConnectGuest
from tests.kit.workspace import STATE_KEYS, settings_state

try:  # Python 3.11+
    import re._parser as sre_parse  # type: ignore[import-not-found]
    from re import _constants as sre  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]
    import sre_constants as sre  # type: ignore[no-redef]

# Bolt's registration methods, each a kind of listener this kit can build a request for (``attempts``).
KINDS = (
    "command",
    "view",
    "view_submission",
    "view_closed",
    "action",
    "block_action",
    "attachment_action",
    "options",
    "block_suggestion",
    "shortcut",
    "global_shortcut",
    "message_shortcut",
    "event",
    "message",
)


class RecordingApp(App):
    """Bolt's App; ``registered`` lists (kind, what it matches) for every registration, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.registered: list[tuple[str, Any]] = []
        super().__init__(*args, **kwargs)


def _first_parameter(kind: str) -> str:
    parameters = list(inspect.signature(getattr(App, kind)).parameters)
    return parameters[1]  # after self


for _kind in KINDS:

    def _make(kind: str) -> Callable[..., Any]:
        first = _first_parameter(kind)

        def register(self: RecordingApp, *args: Any, **kwargs: Any) -> Any:
            self.registered.append((kind, args[0] if args else kwargs.get(first)))
            return getattr(App, kind)(self, *args, **kwargs)

        register.__name__ = kind
        return register

    setattr(RecordingApp, _kind, _make(_kind))


# -- strings a constraint matches ------------------------------------------------------------------------------


def strings_for(constraint: Any, key: str) -> list[str]:
    """Every string ``constraint`` (a string, a compiled pattern, or a dict of them) matches for ``key``, one per
    alternative of a pattern."""
    if isinstance(constraint, dict):
        constraint = constraint.get(key, constraint.get("callback_id", ""))
    if isinstance(constraint, str):
        return [constraint]
    if isinstance(constraint, re.Pattern):
        found = _expand(sre_parse.parse(constraint.pattern), constraint.pattern)
        assert all(constraint.search(s) for s in found), (constraint, found)
        return found
    raise TypeError(f"cannot write a string matching {constraint!r}")


def _expand(parsed: Any, pattern: str) -> list[str]:
    results = [""]
    for op, argument in parsed:
        if op is sre.AT:
            continue
        if op is sre.LITERAL:
            options = [chr(argument)]
        elif op is sre.SUBPATTERN:
            options = _expand(argument[-1], pattern)
        elif op is sre.BRANCH:
            options = [s for alternative in argument[1] for s in _expand(alternative, pattern)]
        elif op is sre.IN:
            options = [_one_of(argument, pattern)]
        elif op is sre.ANY:
            options = ["x"]
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, _, inner = argument
            options = [s * max(low, 1) for s in _expand(inner, pattern)[:1]]
        else:
            raise ValueError(f"cannot write a string for {op} in {pattern!r}: teach tests/kit/every_listener.py")
        results = [r + o for r in results for o in options]
    return results


def _one_of(items: list, pattern: str) -> str:
    for op, argument in items:
        if op is sre.LITERAL:
            return chr(argument)
        if op is sre.RANGE:
            return chr(argument[0])
        if op is sre.CATEGORY:
            return {sre.CATEGORY_DIGIT: "0", sre.CATEGORY_SPACE: " "}.get(argument, "a")
    raise ValueError(f"cannot pick a character of {items} in {pattern!r}")


# -- what the host's screens offered ---------------------------------------------------------------------------


@dataclass
class Surface:
    """Something Slack showed the host: a view (the Home tab, a modal) or a message's blocks (with its
    response_url)."""

    blocks: list[dict]
    view: dict | None = None
    response_url: str = ""


@dataclass
class Offered:
    """What the host's screens offered, to replay as the guest."""

    surfaces: list[Surface] = field(default_factory=list)

    def views(self) -> list[dict]:
        return [s.view for s in self.surfaces if s.view is not None]

    def actions(self) -> Iterator[tuple[dict, Surface]]:
        """Every action a click on one of the surfaces' elements sends: one per button, one per menu option."""
        for surface in self.surfaces:
            for block in surface.blocks:
                elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
                if isinstance(block.get("accessory"), dict):
                    elements.append(block["accessory"])
                for element in elements:
                    for action in _clicks(element, block.get("block_id", "b")):
                        yield action, surface


def _clicks(element: dict, block_id: str) -> list[dict]:
    action_id = element.get("action_id")
    if not action_id:
        return []
    base = {"type": element.get("type"), "action_id": action_id, "block_id": block_id}
    if element.get("options"):
        return [base | {"selected_option": option} for option in element["options"]]
    return [base | {"value": element.get("value", "")}]


def filled(view: dict, texts: dict[str, str], default: str) -> dict:
    """The state of ``view`` with every input answered: ``texts[block_id]`` (or ``default``) in text inputs, the
    first option in selects."""
    values: dict[str, dict] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict) or not element.get("action_id"):
            continue
        state: dict[str, Any] = {"type": element.get("type")}
        if element.get("type") in STATE_KEYS and element.get("type") != "plain_text_input":
            state = settings_state({"blocks": [block]})[block["block_id"]]  # as the host left it
        elif element.get("options"):
            state["selected_option"] = element["options"][0]
        elif element.get("type") == "plain_text_input":
            state["value"] = texts.get(block["block_id"], default)
        values[block["block_id"]] = {element["action_id"]: state}
    return values


# -- one request per listener ----------------------------------------------------------------------------------


@dataclass
class Attempt:
    label: str  # what is tried, for a failure's message
    kind: str  # the registration's kind (command, event, ...)
    request: tuple[bytes, str]


EVENT_SHAPES = {
    "app_home_opened": {"channel": "D0GUEST", "tab": "home"},
    "app_mention": {"channel": SHARED_CHANNEL, "text": "<@U0BOT> list", "ts": "1.0"},
    "message": {"channel": SHARED_CHANNEL, "text": "hello", "ts": "1.0", "channel_type": "channel"},
    "tokens_revoked": {"tokens": {"oauth": [], "bot": []}},
}


def attempts(
    registered: list[tuple[str, Any]],
    guest: ConnectGuest,
    offered: Offered,
    *,
    texts: dict[str, str],
    fallback_value: str,
    response_url: Callable[[str], str],
) -> list[Attempt]:
    """A request from ``guest`` for every registration: replayed from ``offered`` where the host was shown one
    (every matching view, every matching button and menu option), else made up with ``fallback_value`` as the
    button's value or the modal's metadata. ``response_url(name)`` gives each its own."""
    built: list[Attempt] = []
    for number, (kind, constraint) in enumerate(registered):
        name = f"guest-{number}"
        built += _for_registration(kind, constraint, guest, offered, texts, fallback_value, response_url(name))
    return built


def _for_registration(kind, constraint, guest, offered, texts, fallback, url) -> list[Attempt]:
    if kind == "command":
        return [Attempt(f"{c}", kind, guest.command(c, response_url=url)) for c in strings_for(constraint, "command")]
    if kind in ("view", "view_submission", "view_closed"):
        out = []
        for callback in strings_for(constraint, "callback_id"):
            shown = [v for v in offered.views() if v.get("callback_id") == callback]
            for view in shown or [{"callback_id": callback, "private_metadata": fallback}]:
                request = guest.view_submission(view, filled(view, texts, "Partner's pick"))
                built_from = "the host's modal" if shown else "a made-up modal"
                out.append(Attempt(f"submit {callback} ({built_from})", kind, request))
        return out
    if kind in ("action", "block_action", "attachment_action"):
        out = []
        for action_id in strings_for(constraint, "action_id"):
            shown = [(a, s) for a, s in offered.actions() if a["action_id"] == action_id]
            blocks = list(dict.fromkeys(a["block_id"] for a, _ in shown))[:2]  # a menu per credential: two will do
            shown = [(a, s) for a, s in shown if a["block_id"] in blocks]
            for action, surface in shown:
                request = guest.block_action(action, view=surface.view, response_url=surface.response_url or url)
                what = action.get("value") or (action.get("selected_option") or {}).get("value")
                out.append(Attempt(f"click {action_id} = {what!r} (the host's)", kind, request))
            if not shown:
                action = {"type": "button", "action_id": action_id, "value": fallback}
                out.append(Attempt(f"click {action_id} (made up)", kind, guest.block_action(action, response_url=url)))
        return out
    if kind in ("options", "block_suggestion"):
        return [Attempt(f"options {a}", kind, guest.options(a)) for a in strings_for(constraint, "action_id")]
    if kind in ("shortcut", "global_shortcut", "message_shortcut"):
        shape = "message_action" if kind == "message_shortcut" else "shortcut"
        ids = strings_for(constraint, "callback_id")
        return [Attempt(f"shortcut {c}", kind, guest.shortcut(shape, c, response_url=url)) for c in ids]
    if kind in ("event", "message"):
        types = ["message"] if kind == "message" else strings_for(constraint, "type")
        return [Attempt(f"event {t}", kind, guest.event({"type": t, **EVENT_SHAPES.get(t, {})})) for t in types]
    raise AssertionError(f"cannot build a request for app.{kind}(...): teach tests/kit/every_listener.py")


def routed_to(app: App, request: tuple[bytes, str]) -> int | None:
    """The index in the app's listener registry of the listener Bolt runs for ``request`` (the first that
    matches, as App.dispatch picks it), or None."""
    body, content_type = request
    bolt_request = BoltRequest(body=body.decode(), headers={"content-type": [content_type]})
    for index, listener in enumerate(app._listeners):  # the registry App.dispatch walks
        if listener.matches(req=bolt_request, resp=BoltResponse(status=404)):
            return index
    return None


def unreached(app: App, tried: list[Attempt]) -> list[str]:
    """The app's listeners that none of ``tried`` reaches, named by their functions."""
    reached = {routed_to(app, attempt.request) for attempt in tried}
    return [
        f"#{index}: {listener.ack_function.__name__} {[f.__name__ for f in listener.lazy_functions]}"
        for index, listener in enumerate(app._listeners)
        if index not in reached
    ]


# -- the host's own walk through its screens -------------------------------------------------------------------


def host_screens(host: Any, texts: dict[str, str]) -> Offered:
    """What the host (a tests.kit Workspace of a member) is shown when they use Credbot: the Home tab and its next
    page, /list-credentials and its next page, the wizard's stages (up to the one asking for something in
    ``texts``, which the host does not type), the Settings modal (when the host may change settings) and every
    modal of the first credential's menu."""
    slack, offered = host.slack, Offered()
    home = host.open_home()
    offered.surfaces.append(Surface(home["blocks"], view={**home, "id": "VHOME"}))
    for action, _ in [(a, s) for a, s in offered.actions() if a["action_id"].endswith("_next")]:
        before = host.publish_count()
        assert host.home_button(action["action_id"], action["value"]).status == 200
        page = host.published(before)
        offered.surfaces.append(Surface(page["blocks"], view={**page, "id": "VHOME"}))
    first_page = slack.response_url("host-list")
    listed = host.command("/list-credentials", response_url=first_page).json()
    offered.surfaces.append(Surface(listed.get("blocks") or [], response_url=first_page))
    for action, _ in [(a, s) for a, s in offered.actions() if s.response_url and a["action_id"].endswith("_next")]:
        reply = host.click(action["action_id"], action["value"], response_url=slack.response_url("host-list-2"))
        assert reply.status == 200, reply.text
        blocks = slack.wait_for("response_url:host-list-2").json("blocks") or []
        offered.surfaces.append(Surface(blocks, response_url=slack.response_url("host-list-2")))
    _walk_wizard(host, offered, texts)
    if any(a["action_id"] == "home_settings" for a, _ in offered.actions()):
        offered.surfaces.append(Surface([], view=host.open_settings()))  # the Settings modal, for its admins
    menu = next(a for a, s in offered.actions() if s.view is not None and a.get("selected_option"))
    for action, _ in [(a, s) for a, s in offered.actions() if a["block_id"] == menu["block_id"]]:
        opened = len(slack.calls_to("views.open"))
        host.choose(action["selected_option"]["value"], block_id=action["block_id"])
        view = host.opened(after=opened)
        offered.surfaces.append(Surface(view.get("blocks") or [], view=view))
    return offered


def _walk_wizard(host: Any, offered: Offered, texts: dict[str, str]) -> None:
    view = host.open_wizard()
    for _ in range(10):
        offered.surfaces.append(Surface(view.get("blocks") or [], view=view))
        answers = filled(view, texts, "Host ledger draft")
        if not answers or any(block in texts for block in answers):
            return  # the host does not type the secret
        payload = host.submission(view)
        payload["view"]["state"]["values"] = answers
        body = host.bot.sender.interaction(payload).json() or {}
        if body.get("response_action") != "update":
            return
        view = {**body["view"], "id": view["id"], "hash": view["hash"]}
