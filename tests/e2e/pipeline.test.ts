/** The whole transit pipeline offline on today's core, `processBatch` (see tests/helpers/transit-pipeline-suite.ts). */
import { transitPipelineSuite } from '../helpers/transit-pipeline-suite.js';

transitPipelineSuite('batch');
