// Prometheus remote write 1.0 (protobuf WriteRequest, snappy block compression), with native
// histograms encoded as client_golang encodes them: this is how k6's experimental-prometheus-rw
// output delivers its trends when K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM=true.
import protobuf from 'protobufjs';
import { compress } from 'snappyjs';

// The subset of prometheus/prompb (types.proto, remote.proto) that k6 sends.
const PROMPB = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  repeated Histogram histograms = 4;
}
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
message Histogram {
  oneof count { uint64 count_int = 1; double count_float = 2; }
  double sum = 3;
  sint32 schema = 4;
  double zero_threshold = 5;
  oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
  repeated BucketSpan negative_spans = 8;
  repeated sint64 negative_deltas = 9;
  repeated BucketSpan positive_spans = 11;
  repeated sint64 positive_deltas = 12;
  int64 timestamp = 15;
}
`;
const WriteRequest = protobuf.parse(PROMPB).root.lookupType('prometheus.WriteRequest');

/** k6 creates its histograms with NativeHistogramBucketFactor 1.1, which client_golang turns into schema 3. */
const SCHEMA = 3;
/** client_golang's default zero bucket width. */
const ZERO_THRESHOLD = 2.938735877055719e-39;

export type Labels = Record<string, string>;

export interface SeriesPoint {
  readonly timestampMs: number;
  /** A counter or gauge value... */
  readonly value?: number;
  /** ...or every observation so far (a native histogram is cumulative, like a counter). */
  readonly observations?: readonly number[];
}

export interface Series {
  readonly labels: Labels;
  readonly points: readonly SeriesPoint[];
}

/** Bucket i of schema s holds (2^((i-1)/2^s), 2^(i/2^s)]. */
const bucketIndex = (value: number): number => Math.ceil(Math.log2(value) * 2 ** SCHEMA);

function encodeHistogram(observations: readonly number[], timestampMs: number): object {
  const counts = new Map<number, number>();
  let zeroCount = 0;
  for (const value of observations) {
    if (value <= ZERO_THRESHOLD) zeroCount += 1;
    else counts.set(bucketIndex(value), (counts.get(bucketIndex(value)) ?? 0) + 1);
  }
  const indices = [...counts.keys()].sort((a, b) => a - b);
  const positiveSpans: { offset: number; length: number }[] = [];
  const positiveDeltas: number[] = [];
  let previousIndex: number | undefined;
  let previousCount = 0;
  for (const index of indices) {
    const span = positiveSpans.at(-1);
    if (span !== undefined && previousIndex === index - 1) span.length += 1;
    else positiveSpans.push({ offset: previousIndex === undefined ? index : index - previousIndex - 1, length: 1 });
    const count = counts.get(index)!;
    positiveDeltas.push(count - previousCount);
    previousCount = count;
    previousIndex = index;
  }
  return {
    countInt: observations.length,
    sum: observations.reduce((total, value) => total + value, 0),
    schema: SCHEMA,
    zeroThreshold: ZERO_THRESHOLD,
    zeroCountInt: zeroCount,
    positiveSpans,
    positiveDeltas,
    timestamp: timestampMs,
  };
}

export function encodeWriteRequest(series: readonly Series[]): Uint8Array {
  const timeseries = series.map(({ labels, points }) => ({
    // Remote write wants labels sorted by name.
    labels: Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value })),
    samples: points.filter((p) => p.value !== undefined).map((p) => ({ value: p.value, timestamp: p.timestampMs })),
    histograms: points.filter((p) => p.observations !== undefined).map((p) => encodeHistogram(p.observations!, p.timestampMs)),
  }));
  const message = WriteRequest.fromObject({ timeseries });
  return compress(WriteRequest.encode(message).finish());
}

/** POSTs series to a remote-write endpoint (e.g. Prometheus's /api/v1/write); throws unless it answers 2xx. */
export async function remoteWrite(url: string, series: readonly Series[]): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
    body: encodeWriteRequest(series),
  });
  if (!response.ok) throw new Error(`remote write to ${url}: ${response.status} ${await response.text()}`);
}
