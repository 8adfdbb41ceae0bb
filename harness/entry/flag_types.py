"""The types of the harness's flags: argparse converters that refuse a bad value with one line naming it."""

from __future__ import annotations

import argparse
import json

from harness.contract import ContractError, check_name


def name(text: str) -> str:
    try:
        return check_name(text, "name")
    except ContractError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def key_value(text: str) -> tuple[str, object]:
    key, separator, value = text.partition("=")
    if not separator or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE with KEY a Python identifier")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def backend_key_value(text: str) -> tuple[str, object]:
    key, value = key_value(text)
    if key in ("device", "precision", "threads", "output_names"):
        raise argparse.ArgumentTypeError(f"{key} has its own flag; use --{key.replace('_', '-')}")
    return key, value


def json_value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error})") from error


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0")
    return value
