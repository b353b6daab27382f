import { buildApp } from './streamfold-app.js';

buildApp().app.synth();
