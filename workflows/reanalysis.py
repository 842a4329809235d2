"""ReanalysisWorkflow: re-run correction and analysis over past calls, page by page.

Each call is re-analysed by a child `PostCallWorkflow`, not by calling the post-call
activities from here: the child already is the durable, step-by-step pipeline (with its
retry policies and its idempotent writes), and it costs this workflow's history about
four events per call instead of about twenty for six activities, so a run covers ~400
calls before it continues as new. Children run `concurrency` at a time on the post-call
queue, whose worker bounds the CPU they use.

Restartable and idempotent, at two levels:
- a call already at the target analysis version (or later) is skipped, so a restart (a
  new run with the same id after a cancel or a crash) only does what is left, and a
  finished re-analysis started again changes nothing;
- each child's id is fixed by (re-analysis id, call) and may be reused only after a
  failure, so the same re-analysis never runs a call's pipeline twice to completion.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.reanalysis import ReanalysisActivities
    from centralita.postcall.messages import PostCallInput
    from centralita.postcall.reanalysis_messages import (
        CallCursor,
        PagedCall,
        PageRequest,
        ReanalysisCarry,
        ReanalysisInput,
        ReanalysisProgress,
        ReanalysisResult,
        ReanalysisStatus,
    )
    from workflows.activity_policies import STORE_RETRY, STORE_TIMEOUT
    from workflows.post_call import PostCallWorkflow

# The progress lists this many failed call keys at most: the query result (and the
# carried state) must stay small whatever fails.
MAX_LISTED_FAILURES = 20


def reanalysis_call_workflow_id(reanalysis_id: str, call_id: str) -> str:
    """The child workflow that re-analyses `call_id` for the re-analysis `reanalysis_id`."""
    return f"{reanalysis_id}-call-{call_id}"


@workflow.defn
class ReanalysisWorkflow:
    """Re-analyses every call a filter selects, `concurrency` calls at a time."""

    def __init__(self) -> None:
        self._status: ReanalysisStatus = "running"
        self._version = 0
        self._carry = ReanalysisCarry(
            cursor=None, total=0, done=0, skipped=0, failed=0, failed_calls=[], runs=1
        )

    @workflow.query
    def progress(self) -> ReanalysisProgress:
        """Where the re-analysis stands."""
        carry = self._carry
        return ReanalysisProgress(
            reanalysis_id=workflow.info().workflow_id,
            status=self._status,
            analysis_version=self._version,
            total=carry.total,
            done=carry.done,
            skipped=carry.skipped,
            failed=carry.failed,
            failed_calls=list(carry.failed_calls),
            cursor=carry.cursor,
            runs=carry.runs,
        )

    @workflow.run
    async def run(self, job: ReanalysisInput) -> ReanalysisResult:
        """Page through the matching calls until none is left, continuing as new as needed."""
        self._version = job.analysis_version
        if job.carry is None:
            total = await workflow.execute_activity_method(
                ReanalysisActivities.count_calls,
                job.filter,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            self._carry = ReanalysisCarry(
                cursor=None, total=total, done=0, skipped=0, failed=0, failed_calls=[], runs=1
            )
        else:
            self._carry = job.carry.model_copy(update={"runs": job.carry.runs + 1})

        while True:
            page = await workflow.execute_activity_method(
                ReanalysisActivities.page_calls,
                PageRequest(filter=job.filter, cursor=self._carry.cursor, limit=job.page_size),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            await self._reanalyse(page.calls, job)
            if page.calls:
                last = page.calls[-1]
                self._carry.cursor = CallCursor(started_at=last.started_at, call_id=last.call_id)
            if page.next_cursor is None:
                break
            # Only here, between pages, is nothing in flight: a cut mid-page would leave
            # children running that the next run could not wait for.
            if self._history_is_long(job):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(job.model_copy(update={"carry": self._carry}))

        self._status = "completed"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ReanalysisResult(progress=self.progress())

    async def _reanalyse(self, calls: list[PagedCall], job: ReanalysisInput) -> None:
        """Re-analyse a page's calls, at most `job.concurrency` children at once."""
        slots = asyncio.Semaphore(job.concurrency)  # FIFO, so deterministic on replay

        async def one(call: PagedCall) -> None:
            if call.version is not None and call.version >= job.analysis_version:
                self._carry.skipped += 1
                return
            async with slots:
                await self._child(call, job)

        await asyncio.gather(*(one(call) for call in calls))

    async def _child(self, call: PagedCall, job: ReanalysisInput) -> None:
        try:
            await workflow.execute_child_workflow(
                PostCallWorkflow.run,
                PostCallInput(
                    call_key=call.call_key,
                    retranscribe=job.retranscribe,
                    analysis_version=job.analysis_version,
                ),
                id=reanalysis_call_workflow_id(workflow.info().workflow_id, call.call_id),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
        except WorkflowAlreadyStartedError:
            # This re-analysis already re-analysed the call to completion (in an earlier
            # run), and something stored an older version since: it is not redone.
            self._carry.skipped += 1
        except ChildWorkflowError:
            self._carry.failed += 1
            if len(self._carry.failed_calls) < MAX_LISTED_FAILURES:
                self._carry.failed_calls.append(call.call_key)
            workflow.logger.warning("re-analysis of call %s failed", call.call_key)
        else:
            self._carry.done += 1

    def _history_is_long(self, job: ReanalysisInput) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() > job.max_history_events
            or info.is_continue_as_new_suggested()
        )
