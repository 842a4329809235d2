"""Who a persona bot speaks as."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from realtime.providers.espeak import EspeakTTS
from realtime.providers.kokoro import KokoroTTS
from realtime.softphone.bot_voices import speaking_voice
from realtime.softphone.script import BotScript

pytestmark = pytest.mark.unit


def test_a_script_names_its_voice_and_its_line() -> None:
    script = BotScript.model_validate({"voice": "kokoro:em_alex", "line": "noisy_telephone"})
    assert script.line == "noisy_telephone"
    default = EspeakTTS()
    voice = speaking_voice(script.voice, default)
    assert isinstance(voice, KokoroTTS)
    assert voice.voice_for("es") == "em_alex"
    assert speaking_voice("kokoro:em_alex", default) is voice  # one per name
    assert speaking_voice(None, default) is default
    assert isinstance(speaking_voice("espeak", default), EspeakTTS)


@pytest.mark.parametrize(
    "bad", [{"voice": "polly:Lucia"}, {"voice": "kokoro:"}, {"line": "satellite"}]
)
def test_a_bad_voice_or_line_is_refused_with_the_field_named(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match=next(iter(bad))):
        BotScript.model_validate(bad)
