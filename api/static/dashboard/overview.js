// The latest stored conversations across campaigns (GET /metrics/summary): how fast the
// agent answered, how callers felt, how the calls ended.

import { api } from "./api.js";
import { bars } from "./charts.js";
import { $, figure, fmtDuration, fmtMs, fmtNum } from "./dom.js";
import { outcomesChart } from "./campaigns.js";

const CALLS = 50;

/** Fetch and draw the summary of the latest conversations. */
export async function refreshOverview() {
  const { aggregates: a } = await api(`/metrics/summary?limit=${CALLS}`);
  $("overview-count").textContent = `(last ${a.calls})`;
  $("overview-figures").replaceChildren(
    figure("voice→voice", fmtMs(a.avg_voice_to_voice_ms), "average over measured turns"),
    figure("turns", a.turns),
    figure("sentiment", fmtNum(a.avg_sentiment, 2), "mean turn sentiment, -1..1"),
    figure("interruptions", a.interruptions),
    figure("tool calls", `${a.tool_calls} (${a.tool_failures} failed)`),
    figure("avg duration", fmtDuration(a.avg_duration_s)),
    figure("cost", fmtNum(a.total_cost, 2)),
  );
  const ms = (x) => (x === null ? "–" : `${Math.round(x)}`);
  $("chart-parts").replaceChildren(bars([
    { name: "part", label: "endpointing", value: a.avg_endpointing_ms, text: ms(a.avg_endpointing_ms) },
    { name: "part", label: "STT", value: a.avg_stt_ms, text: ms(a.avg_stt_ms) },
    { name: "part", label: "brain", value: a.avg_brain_ms, text: ms(a.avg_brain_ms) },
    { name: "part", label: "TTS 1st audio", value: a.avg_tts_first_audio_ms, text: ms(a.avg_tts_first_audio_ms) },
    { name: "p50", label: "voice→voice", value: a.avg_voice_to_voice_ms, text: ms(a.avg_voice_to_voice_ms) },
  ], { label: "average latency per turn part" }));
  $("chart-summary-outcomes").replaceChildren(outcomesChart(a.outcomes, "calls by outcome"));
}
