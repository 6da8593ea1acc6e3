/**
 * Child process of bench/crypto.ts: seals one file and reports the peak RSS growth while sealing,
 * measured from a fresh process so nothing earlier in the benchmark has pre-grown the heap.
 *
 *   node --expose-gc <tsx loader flags> bench/crypto-worker.ts '{"input":…,"output":…,"key":"hex","backend":"node:crypto","releaseWrittenBuffers":true}'
 *
 * Prints `{"rssGrowthMiB": n, "ms": n, "atPeak": {rss, heapTotal, arrayBuffers}}` (growth in MiB at
 * the RSS peak: JS heap and ArrayBuffer memory, to tell V8 heap sizing from held data).
 */
import { backendByName, sealFile } from "./crypto.js";

interface WorkerArgs {
  input: string;
  output: string;
  key: string;
  backend: string;
  releaseWrittenBuffers: boolean;
}

const args = JSON.parse(process.argv[2] ?? "{}") as WorkerArgs;
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const baseline = process.memoryUsage();
let peak = baseline.rss;
let atPeak = baseline;
const sample = () => {
  const rss = process.memoryUsage.rss();
  if (rss > peak) {
    peak = rss;
    atPeak = process.memoryUsage();
  }
};
let writes = 0;
const timer = setInterval(sample, 2);
const ms = await sealFile(
  args.input,
  args.output,
  new Uint8Array(Buffer.from(args.key, "hex")),
  backendByName(args.backend),
  { releaseWrittenBuffers: args.releaseWrittenBuffers },
  () => {
    if (++writes % 8 === 0) sample();
  },
);
sample();
clearInterval(timer);
const growth = (field: "rss" | "heapTotal" | "arrayBuffers") =>
  Math.round(((atPeak[field] - baseline[field]) / 2 ** 20) * 10) / 10;
console.log(
  JSON.stringify({
    rssGrowthMiB: (peak - baseline.rss) / 2 ** 20,
    ms,
    atPeak: { rss: growth("rss"), heapTotal: growth("heapTotal"), arrayBuffers: growth("arrayBuffers") },
  }),
);
