/**
 * Per-stage metrics hook. Each measurement names its stage, how many items it covered and how long
 * it took; a Prometheus exporter or a benchmark can aggregate them. Callbacks MUST be cheap and MUST
 * NOT throw (an exception is caught and logged, never allowed to break ingest).
 */
/**
 * encode: validate + canonicalise + leaf hash of an ingest call; ingest: the whole call until its
 * commit (encode + archive + any seal in the same transaction); append: log append of one batch;
 * seal: from the start of the append until the batch is published; checkpoint: publishing it.
 */
export type Stage = "encode" | "ingest" | "seal" | "append" | "checkpoint" | "publish" | "deliver";

export interface StageMetric {
  readonly stage: Stage;
  /** Items covered by this measurement (events, messages). */
  readonly count: number;
  /** Wall-clock latency of the stage in milliseconds. */
  readonly latencyMs: number;
  /** Federation origin or bus topic, when the stage has one. */
  readonly origin?: string;
  readonly topic?: string;
}

export type MetricsCallback = (metric: StageMetric) => void;

export const noMetrics: MetricsCallback = () => undefined;

/** Wraps a callback so that an exception in it is swallowed (metrics never break the pipeline). */
export function safeMetrics(
  callback: MetricsCallback | undefined,
  onError: (err: unknown) => void,
): MetricsCallback {
  if (!callback) return noMetrics;
  return (metric) => {
    try {
      callback(metric);
    } catch (err) {
      onError(err);
    }
  };
}
