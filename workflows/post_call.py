"""PostCallWorkflow: one per call, started by the attempt and outliving it.

Re-transcription, correction, learning proposals (for review), analysis, the metadata
document and the `call_analyzed` event, each an idempotent activity that stores its own
result: a worker killed in the middle of the analysis leaves the steps before it done,
and the retry redoes only the step it was in, writing its rows once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.post_call import PostCallActivities
    from centralita.postcall.messages import PostCallInput, PostCallResult, StepInput
    from workflows.activity_policies import (
        ANALYSIS_TIMEOUT,
        POST_CALL_RETRY,
        RETRANSCRIBE_HEARTBEAT,
        RETRANSCRIBE_TIMEOUT,
    )


T = TypeVar("T")


def post_call_workflow_id(call_key: str) -> str:
    """One post-call workflow per call: starting it twice finds the first."""
    return f"postcall-{call_key}"


@workflow.defn
class PostCallWorkflow:
    """Everything after one call, durable step by step."""

    def __init__(self) -> None:
        self._step = "starting"

    @workflow.query
    def step(self) -> str:
        """The step under way (or 'done')."""
        return self._step

    @workflow.run
    async def run(self, options: PostCallInput) -> PostCallResult:
        """Process the call of `options.call_key`."""
        self._step = "find_call"
        call = await workflow.execute_activity_method(
            PostCallActivities.find_call,
            options,
            start_to_close_timeout=ANALYSIS_TIMEOUT,
            retry_policy=POST_CALL_RETRY,
        )
        step = StepInput(call=call, options=options)
        self._step = "retranscribe"
        retranscribed = await workflow.execute_activity_method(
            PostCallActivities.retranscribe,
            step,
            start_to_close_timeout=RETRANSCRIBE_TIMEOUT,
            heartbeat_timeout=RETRANSCRIBE_HEARTBEAT,
            retry_policy=POST_CALL_RETRY,
        )
        corrected = await self._quick("correct", PostCallActivities.correct, step)
        proposed = await self._quick("propose", PostCallActivities.propose, step)
        analysed = await self._quick("analyse", PostCallActivities.analyse, step)
        await self._quick("document", PostCallActivities.document, step)
        event_id = await self._quick("announce", PostCallActivities.announce, step)
        self._step = "done"
        return PostCallResult(
            call_id=call.call_id,
            retranscribed=retranscribed,
            corrected=corrected,
            analysed=analysed,
            proposals=proposed,
            event_id=event_id,
        )

    async def _quick(
        self,
        name: str,
        activity: Callable[[PostCallActivities, StepInput], Awaitable[T]],
        step: StepInput,
    ) -> T:
        """One of the short steps (seconds of CPU and a few writes), as the query shows it."""
        self._step = name
        return await workflow.execute_activity_method(
            activity,
            step,
            start_to_close_timeout=ANALYSIS_TIMEOUT,
            retry_policy=POST_CALL_RETRY,
        )
