"""audit.config for a compliance run, rendered from the round profile's `compliance_audit` data (pure).

LoadGen reads `audit.config` from its working directory and, when present, it overrides the run's settings; that
is how a compliance test (TEST01 accuracy-log sampling, TEST04 same-sample issue) changes a performance run.
"""

from __future__ import annotations

from msb.descriptions.rounds import RoundProfile
from msb.errors import SpecError

ANY_MODEL = "*"


def audit_settings(profile: RoundProfile, test: str, model: str) -> dict[str, str]:
    """The key/values of `test` for `model`: its own file where the round has one, else the test's shared file."""
    per_model = profile.compliance_audit.get(test)
    if per_model is None:
        raise SpecError(
            f"round {profile.name} has no audit settings for compliance test {test}",
            f"add compliance_audit.{test} to rounds/{profile.name}.yaml from compliance/{test}/audit.config",
        )
    settings = per_model.get(model, per_model.get(ANY_MODEL))
    if settings is None:
        raise SpecError(
            f"round {profile.name} has no {test} audit settings for {model}",
            f"add compliance_audit.{test}.{model} to rounds/{profile.name}.yaml "
            f"from the round's compliance/{test}/{model}/audit.config",
        )
    return dict(settings)


def render_audit_config(profile: RoundProfile, test: str, model: str) -> str:
    settings = audit_settings(profile, test, model)
    header = f"# {test} audit settings of MLPerf Inference round {profile.name} for {model}, rendered by build.py\n"
    return header + "".join(f"{key} = {value}\n" for key, value in settings.items())


def parse_audit_config(text: str) -> dict[str, str]:
    """`key = value` lines of an audit.config (comments and blank lines skipped): used to compare with a reference."""
    pairs = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs
