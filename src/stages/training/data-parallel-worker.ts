/**
 * The entry of a data-parallel helper thread: the work is in
 * data-parallel-helper.ts (statically imported by data-parallel.ts, so it
 * enters the cache keys of the stages that train).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HelperInit } from './data-parallel.js';
import { serveDataParallelHelper } from './data-parallel-helper.js';

await serveDataParallelHelper(workerData as HelperInit, parentPort!);
