"""A call's metadata document: what was recorded, what was heard, what was changed.

One JSON document per call puts the recording's format, length and checksum beside the
transcripts (online, offline, corrected), every correction with its level and the
analysis, so an auditor can see which audio each transcript came from and undo any
correction from the stored data alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from centralita.kernel.db import Conn
from centralita.postcall import store
from centralita.postcall.messages import CallRef
from centralita.postcall.recording import RecordingError, audio_facts

DOCUMENT_VERSION = 1


async def call_document(conn: Conn, call: CallRef) -> tuple[dict[str, Any], str]:
    """The call's document and its recording's SHA-256 ('' without a recording)."""
    stored = await store.find_call(conn, call.call_key)
    audio: dict[str, Any] | None = None
    checksum = ""
    if stored is not None and stored.recording_path:
        try:
            facts = await asyncio.to_thread(audio_facts, Path(stored.recording_path))
            audio = dataclasses.asdict(facts)
            checksum = facts.sha256
        except RecordingError as exc:
            audio = {"path": stored.recording_path, "error": str(exc)}
    turns = await store.online_turns(conn, call.call_id)
    analysis = await store.load_analysis(conn, call.call_id)
    document = {
        "version": DOCUMENT_VERSION,
        "call_id": call.call_id,
        "call_key": call.call_key,
        "language": call.language,
        "audio": audio,
        "transcripts": {
            "online": [
                {
                    "turn": t.index,
                    "user": t.user_text,
                    "agent": t.agent_text,
                    "stt_confidence": t.stt_confidence,
                }
                for t in turns
            ],
            "offline": await store.load_transcript(conn, call.call_id, "offline"),
            "corrected": await store.load_transcript(conn, call.call_id, "corrected"),
        },
        "corrections": {
            "offline": await store.corrections_of(conn, call.call_id, "offline"),
            "online": await store.corrections_of(conn, call.call_id, "online"),
        },
        "analysis": analysis,
    }
    return document, checksum
