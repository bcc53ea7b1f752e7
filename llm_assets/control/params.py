"""`nb_parm`: the process's parameter string, as the original framework wrote it (`a|b|c`)
or as a JSON object / array.

Parsed form: `nb_args` (list of strings or JSON values) and `nb_kwargs` (dict).
- `a|b|c`        -> args ["a", "b", "c"], kwargs {}
- `k=v|x`        -> args ["k=v", "x"], kwargs {"k": "v"}  (pipe items holding `=` are also keys)
- `{"k": 1}`     -> args [], kwargs {"k": 1}
- `[1, 2]`       -> args [1, 2], kwargs {}
- empty or NULL  -> args [], kwargs {}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


class ParameterError(ValueError):
    """nb_parm could not be parsed; the message says where."""


@dataclass(frozen=True)
class ParsedParams:
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)


def parse_nb_parm(raw: str | None) -> ParsedParams:
    text = (raw or "").strip()
    if not text:
        return ParsedParams()
    if text[0] in "{[":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise ParameterError(
                f"nb_parm looks like JSON but is not valid JSON ({err.msg} at character "
                f"{err.pos}): write a JSON object like {{\"key\": \"value\"}} or a pipe list a|b|c"
            ) from err
        if isinstance(value, dict):
            return ParsedParams(kwargs=value)
        if isinstance(value, list):
            return ParsedParams(args=value)
        raise ParameterError("nb_parm JSON must be an object or an array")
    args = [part.strip() for part in text.split("|")]
    kwargs = {}
    for part in args:
        key, sep, value = part.partition("=")
        if sep and key.strip():
            kwargs[key.strip()] = value.strip()
    return ParsedParams(args=args, kwargs=kwargs)
