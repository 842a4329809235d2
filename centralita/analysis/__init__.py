"""Post-call analysis of a transcript: sentiment, intent, entities, topics, summary, success.

Pure code over the finished call's turns; a Temporal activity calls `analyse_call`.
"""

from centralita.analysis.analyse import analyse, analyse_call
from centralita.analysis.model import (
    CallAnalysis,
    CallAnalysisInput,
    CallIntent,
    Entity,
    EntityKind,
    ExtractedVariables,
    GoalResult,
    IntentResult,
    QualityScore,
    SentimentTrend,
    Span,
    Topic,
    TrendLabel,
    Turn,
    TurnSentiment,
)
from centralita.analysis.summary import ExtractiveSummarizer, Summarizer

__all__ = [
    "CallAnalysis",
    "CallAnalysisInput",
    "CallIntent",
    "Entity",
    "EntityKind",
    "ExtractedVariables",
    "ExtractiveSummarizer",
    "GoalResult",
    "IntentResult",
    "QualityScore",
    "SentimentTrend",
    "Span",
    "Summarizer",
    "Topic",
    "TrendLabel",
    "Turn",
    "TurnSentiment",
    "analyse",
    "analyse_call",
]
