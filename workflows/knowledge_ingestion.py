"""KnowledgeIngestionWorkflow: one uploaded document into the tenant's knowledge base.

One workflow per document, its id fixed by tenant and document
(`ingestion_workflow_id`), so starting it twice while it runs is one run; a re-index
after it finished is a new run of the same id. The steps (activities/knowledge.py):

1. read the stored upload and stage its chunks for this run;
2. embed the staged chunks in batches, each batch's vectors stored as it is done;
3. publish: the document's searched chunks replaced in one transaction (it is ready).

Nothing but ids travels through the history: the bytes, the chunks and the vectors are
in Postgres, so a 2,000-page document costs this workflow a handful of events, and a
worker lost in step 2 costs only the batch it was embedding. A failure that retrying
cannot mend (an unreadable file, a model that refuses) marks the document failed with
the reason; a document deleted meanwhile ends the run quietly.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.knowledge import (
        DOCUMENT_GONE,
        NON_RETRYABLE,
        EmbedInput,
        FailInput,
        IngestionInput,
        IngestionProgress,
        IngestionResult,
        KnowledgeActivities,
        PrepareInput,
        PublishInput,
    )
    from workflows.activity_policies import STORE_RETRY, STORE_TIMEOUT

# Reading and chunking a 2,000-page PDF takes minutes of one core; embedding it on this
# machine's e5 most of an hour. The deadlines are far above that; a dead worker is noticed
# by its missing heartbeats (IngestionInput.heartbeat_timeout_s), not by these.
PREPARE_TIMEOUT = timedelta(minutes=30)
EMBED_TIMEOUT = timedelta(hours=4)
PUBLISH_TIMEOUT = timedelta(minutes=10)
# Lost workers and database outages are retried; the tries are bounded so that a
# failure that persists (a hosted model down for hours) ends as a failed document that
# an operator can re-index, rather than one pending forever.
INGESTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=12,
    non_retryable_error_types=NON_RETRYABLE,
)


def ingestion_workflow_id(tenant_id: str, document_id: str) -> str:
    """The workflow that indexes the tenant's document (one at a time)."""
    return f"knowledge-ingestion-{tenant_id}-{document_id}"


def _failure_reason(exc: ActivityError) -> str:
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or exc)


@workflow.defn
class KnowledgeIngestionWorkflow:
    """Reads, chunks, embeds and publishes one document."""

    def __init__(self) -> None:
        self._stage: IngestionProgress = IngestionProgress(stage="reading")

    @workflow.query
    def progress(self) -> IngestionProgress:
        """The step the indexing is at (chunk counts are on the document)."""
        return self._stage

    @workflow.run
    async def run(self, job: IngestionInput) -> IngestionResult:
        """Index the document; the result says how it ended."""
        heartbeat = timedelta(seconds=job.heartbeat_timeout_s)
        try:
            await workflow.execute_activity_method(
                KnowledgeActivities.prepare_document,
                PrepareInput(
                    tenant_id=job.tenant_id,
                    document_id=job.document_id,
                    run=workflow.info().run_id,
                ),
                start_to_close_timeout=PREPARE_TIMEOUT,
                heartbeat_timeout=heartbeat,
                retry_policy=INGESTION_RETRY,
            )
            self._stage = IngestionProgress(stage="embedding")
            embedded = await workflow.execute_activity_method(
                KnowledgeActivities.embed_chunks,
                EmbedInput(
                    tenant_id=job.tenant_id,
                    document_id=job.document_id,
                    embedder=job.embedder,
                    batch_size=job.batch_size,
                ),
                start_to_close_timeout=EMBED_TIMEOUT,
                heartbeat_timeout=heartbeat,
                retry_policy=INGESTION_RETRY,
            )
            self._stage = IngestionProgress(stage="publishing")
            published = await workflow.execute_activity_method(
                KnowledgeActivities.publish_chunks,
                PublishInput(
                    tenant_id=job.tenant_id,
                    document_id=job.document_id,
                    model_id=embedded.model_id,
                ),
                start_to_close_timeout=PUBLISH_TIMEOUT,
                retry_policy=INGESTION_RETRY,
            )
        except ActivityError as exc:
            self._stage = IngestionProgress(stage="done")
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == DOCUMENT_GONE:
                return IngestionResult(status="deleted")
            reason = _failure_reason(exc)
            workflow.logger.warning("knowledge document %s failed: %s", job.document_id, reason)
            await workflow.execute_activity_method(
                KnowledgeActivities.mark_failed,
                FailInput(tenant_id=job.tenant_id, document_id=job.document_id, error=reason),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            return IngestionResult(status="failed", error=reason)
        self._stage = IngestionProgress(stage="done")
        return IngestionResult(
            status="ready",
            chunk_count=published.chunk_count,
            model_id=embedded.model_id,
            resumed_from=embedded.resumed_from,
        )
