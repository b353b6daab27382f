/**
 * The whole transit pipeline offline on the engine (`TRANSIT_PROCESSOR=engine`, docs/transit-on-engine.md
 * step 9): the same workload and the same checks of every read model as on `processBatch`.
 */
import { transitPipelineSuite } from '../helpers/transit-pipeline-suite.js';

transitPipelineSuite('engine');
