"""What a person's use of a Block Kit element sends: the `actions` entry of a click, the `state.values`
of a submitted modal. Pure functions; a use the blocks don't allow fails the test with AssertionError.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Element = tuple[str | None, dict[str, Any]]  # (the block's block_id, the element)


def _options(el: dict[str, Any]) -> list[dict[str, Any]]:
    grouped = [o for g in el.get("option_groups", []) for o in g.get("options", [])]
    return grouped + list(el.get("options", []))


def _option(el: dict[str, Any], value: Any) -> dict[str, Any]:
    found = next((o for o in _options(el) if o.get("value") == value), None)
    if found is None:
        raise AssertionError(f"{el.get('type')} {el.get('action_id')!r} has no option {value!r}")
    return found


def find_element(
    elements: list[Element], action_id: str, *, value: str | None = None, block_id: str | None = None
) -> Element:
    """The element a person would use; `value`/`block_id` pick among buttons sharing an action_id."""
    candidates = [(b, el) for b, el in elements if el.get("action_id") == action_id]
    if block_id is not None:
        candidates = [(b, el) for b, el in candidates if b == block_id]
    if len(candidates) > 1 and value is not None:
        candidates = [(b, el) for b, el in candidates if el.get("value") == value] or candidates
    if not candidates:
        available = sorted({el.get("action_id", "?") for _, el in elements})
        raise AssertionError(f"no element with action_id {action_id!r} to use; the blocks offer {available}")
    return candidates[0]


def action_payload(
    block_id: str | None, el: dict[str, Any], value: str | None, action_ts: str
) -> dict[str, Any]:
    """The `actions[0]` of a block_actions payload: a button press, or `value` picked from a select."""
    kind = el.get("type", "button")
    action: dict[str, Any] = {
        "type": kind,
        "action_id": el["action_id"],
        "block_id": block_id or "auto",
        "action_ts": action_ts,
    }
    if kind == "button":
        if value is not None and el.get("value") != value:
            raise AssertionError(
                f"button {el['action_id']!r} carries value {el.get('value')!r}, not {value!r}"
            )
        action["text"] = el.get("text")
        for key in ("value", "style"):
            if key in el:
                action[key] = el[key]
        return action
    if value is None:
        raise AssertionError(f"{kind} {el['action_id']!r} needs value= (what the person picks)")
    if kind in ("static_select", "overflow", "radio_buttons"):
        action["selected_option"] = _option(el, value)
    elif kind in ("checkboxes", "multi_static_select"):
        action["selected_options"] = [_option(el, v) for v in value.split(",")]
    elif kind == "users_select":
        action["selected_user"] = value
    elif kind == "conversations_select":
        action["selected_conversation"] = value
    elif kind == "channels_select":
        action["selected_channel"] = value
    elif kind == "datepicker":
        action["selected_date"] = value
    else:
        action["value"] = value
    return action


def input_value(el: dict[str, Any], given: Any) -> dict[str, Any]:
    """One state.values entry: Slack's own object, or a shorthand (a string; a list for multi-selects)
    turned into the element type's object; nothing given means the element's initial value."""
    kind = el.get("type", "plain_text_input")
    if isinstance(given, dict):
        return {"type": kind, **given}
    if kind in ("static_select", "radio_buttons"):
        return {
            "type": kind,
            "selected_option": _option(el, given) if given is not None else el.get("initial_option"),
        }
    if kind in ("multi_static_select", "checkboxes"):
        picked = [_option(el, v) for v in given] if given is not None else el.get("initial_options", [])
        return {"type": kind, "selected_options": picked}
    selected = {
        "users_select": ("selected_user", "initial_user"),
        "conversations_select": ("selected_conversation", "initial_conversation"),
        "channels_select": ("selected_channel", "initial_channel"),
        "datepicker": ("selected_date", "initial_date"),
        "timepicker": ("selected_time", "initial_time"),
    }
    if kind in selected:
        key, initial = selected[kind]
        return {"type": kind, key: given if given is not None else el.get(initial)}
    value = given if given is not None else el.get("initial_value")
    return {"type": kind, "value": None if value is None else str(value)}


def state_values(view: dict[str, Any], values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Slack's state.values for a submitted view: every input block, with what was entered."""
    inputs = {
        (b.get("block_id"), b["element"].get("action_id")): b["element"]
        for b in view.get("blocks", [])
        if b.get("type") == "input" and isinstance(b.get("element"), dict)
    }
    for block_id, actions in values.items():
        for action_id in actions:
            if (block_id, action_id) not in inputs:
                raise AssertionError(f"the view has no input {block_id}/{action_id}; it has {sorted(inputs)}")
    state: dict[str, dict[str, Any]] = {}
    for (block_id, action_id), el in inputs.items():
        state.setdefault(str(block_id), {})[str(action_id)] = input_value(
            el, values.get(block_id, {}).get(action_id)
        )
    return state
